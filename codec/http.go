package codec

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// maxCodecBody bounds one /encode or /decode request.
const maxCodecBody = 8 << 20

// Handler wraps the SDK's codec handler with CORS limited to
// the UI origins and a bearer token check (none when token is empty, which
// only a loopback listener may allow: see LoopbackOnly).
func Handler(c converter.PayloadCodec, origins []string, token string, log *slog.Logger) http.Handler {
	if fc, ok := c.(*Codec); ok && !fc.AllowPlaintext {
		// People reading a history should see what was sent, plaintext
		// (forged) payloads included; the worker is what refuses them.
		view := *fc
		view.AllowPlaintext = true
		c = &view
	}
	inner := converter.NewPayloadCodecHTTPHandler(c)
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			if !slices.Contains(origins, origin) {
				log.Warn("codec server: refused origin", "origin", origin, "path", r.URL.Path)
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			if origin == "" {
				http.Error(w, "preflight without Origin", http.StatusBadRequest)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "use POST /encode or POST /decode", http.StatusMethodNotAllowed)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/encode") && !strings.HasSuffix(r.URL.Path, "/decode") {
			http.NotFound(w, r)
			return
		}
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			log.Warn("codec server: refused request without a valid bearer token", "path", r.URL.Path, "remote", r.RemoteAddr, "namespace", r.Header.Get("X-Namespace"))
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry-codec"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCodecBody)
		inner.ServeHTTP(w, r)
	})
}

// LoopbackOnly refuses serving without a token on anything but a loopback
// address.
func LoopbackOnly(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("serving without a bearer token (--dev-no-auth) is allowed only on a loopback address, not %s: give a --token-file instead", listen)
	}
	return nil
}
