package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/codec"
	"github.com/ferrymigrate/ferry/redact"
)

// envCodecToken holds the codec server's bearer token when no
// --token-file is given.
const envCodecToken = "FERRY_CODEC_TOKEN"

func newCodecServerCmd(g *globals) *cobra.Command {
	var listen, tokenFile string
	var origins []string
	var devNoAuth bool
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve /encode and /decode so the Temporal UI can show ferry's encrypted payloads",
		Long: `Serve the payload codec over HTTP for the Temporal UI and CLI
(temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081, or the
UI's "Codec Server" setting). Payloads are AES-256-GCM encrypted with the
keys in FERRY_CODEC_KEY or FERRY_CODEC_KEY_FILE; this server decrypts them
for people who hold the bearer token.

Every /encode and /decode request must carry "Authorization: Bearer <token>"
(the token from --token-file, or FERRY_CODEC_TOKEN). Browsers may call it
only from --ui-origin. Keep it on loopback or behind your SSO proxy.`,
		Example: `  head -c32 /dev/urandom | base64 > key && export FERRY_CODEC_KEY=$(cat key)
  head -c24 /dev/urandom | base64 > token
  ferry codec-server --listen 127.0.0.1:8081 --ui-origin http://localhost:8233 --token-file token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var token string
			if devNoAuth {
				if err := codec.LoopbackOnly(listen); err != nil {
					return err
				}
			} else {
				t, err := readCodecToken(tokenFile, os.Getenv)
				if err != nil {
					return err
				}
				token = t
			}
			keys, err := codec.KeyringFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			c, err := codec.New(keys)
			if err != nil {
				return err
			}
			for _, o := range origins {
				if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.HasSuffix(o, "/") {
					return fmt.Errorf("--ui-origin %q: give scheme://host[:port] without a path, e.g. http://localhost:8233", o)
				}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("codec server: listen on %s: %w (use --listen with a free address)", listen, err)
			}
			log := g.log
			if log == nil {
				log = slog.Default()
			}
			if devNoAuth {
				log.Warn("codec server: --dev-no-auth: /encode and /decode answer without a bearer token (loopback only, for ferry dev)")
			}
			log.Info("codec server listening", "addr", "http://"+ln.Addr().String(), "uiOrigins", origins, "activeKey", keys.Active(), "keys", keys.IDs())
			return serveCodec(cmd.Context(), ln, codec.Handler(c, origins, token, log))
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8081", "address to listen on")
	f.StringSliceVar(&origins, "ui-origin", []string{"http://localhost:8233", "http://127.0.0.1:8233"}, "origin(s) of the Temporal UI allowed to call this server (CORS)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the bearer token (default: env "+envCodecToken+")")
	f.BoolVar(&devNoAuth, "dev-no-auth", false, "accept requests without a bearer token (only on a loopback address: the Temporal UI sends a token only with SSO)")
	return cmd
}

func readCodecToken(file string, getenv func(string) string) (string, error) {
	var token string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("codec server: read --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	} else {
		token = strings.TrimSpace(getenv(envCodecToken))
	}
	if token == "" {
		return "", errors.New("codec server: no bearer token: give --token-file FILE or set " + envCodecToken + " (e.g. `head -c24 /dev/urandom | base64`)")
	}
	if len(token) < 16 {
		return "", errors.New("codec server: the bearer token is shorter than 16 characters: generate one with `head -c24 /dev/urandom | base64`")
	}
	redact.Register(token)
	return token, nil
}

func serveCodec(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
