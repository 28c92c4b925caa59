package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/ferrymigrate/ferry/codec"
)

// devCodec is payload encryption for the dev stack: a key ring kept in the
// state directory, and the codec served to the Temporal UI on loopback.
type devCodec struct {
	dc       converter.DataConverter
	endpoint string
	keyFile  string
	srv      *http.Server
}

// startCodec loads (or creates) <state>/codec.keys and serves /encode and
// /decode on a loopback port for the UI's origins. The UI sends a bearer
// token only with SSO, so on loopback the dev server takes none (see
// codec.LoopbackOnly); `ferry codec-server` outside dev requires one.
func startCodec(o Options, log interface{ Info(string, ...any) }) (*devCodec, error) {
	keyFile := filepath.Join(o.StateDir, "codec.keys")
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, codec.KeySize)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		line := "dev-1:" + base64.StdEncoding.EncodeToString(secret) + "\n"
		if err := os.WriteFile(keyFile, []byte(line), 0o600); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	keys, err := codec.ParseKeyFile(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start over; old payloads then stay unreadable)", keyFile, err)
	}
	c, err := codec.New(keys)
	if err != nil {
		return nil, err
	}
	dc, err := codec.DataConverter(keys)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := codec.LoopbackOnly(ln.Addr().String()); err != nil {
		ln.Close()
		return nil, err
	}
	origins := []string{fmt.Sprintf("http://localhost:%d", o.UIPort), fmt.Sprintf("http://127.0.0.1:%d", o.UIPort)}
	srv := &http.Server{Handler: codec.Handler(c, origins, "", o.Log), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	d := &devCodec{dc: dc, endpoint: "http://" + ln.Addr().String(), keyFile: keyFile, srv: srv}
	log.Info("payloads are encrypted", "keys", keyFile, "codecEndpoint", d.endpoint)
	return d, nil
}

func (d *devCodec) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
}
