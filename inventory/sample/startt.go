package sample

import (
	"crypto/tls"
	"testing"

	"github.com/vmware/govmomi/simulator"

	"github.com/ferrymigrate/ferry/inventory"
)

// StartT starts a simulator holding p for one test, as httptest.NewServer
// does for a handler: it fails tb when the simulator cannot start and
// closes it when tb ends.
func StartT(tb testing.TB, p *Portfolio) *Simulator {
	tb.Helper()
	s, err := Start(tb.Context(), p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// ServeT creates the bare vcsim model m (simulator.VPX() tuned by the
// caller, for tests that want its stock inventory rather than a
// portfolio), serves it over HTTPS on loopback with the tagging endpoints,
// and removes both when tb ends. The server's URL carries the simulator's credentials
// (for govmomi clients); the Config is how ferry dials it.
func ServeT(tb testing.TB, m *simulator.Model) (*simulator.Server, inventory.Config) {
	tb.Helper()
	if err := m.Create(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Remove)
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	srv := m.Service.NewServer()
	tb.Cleanup(srv.Close)
	u := *srv.URL
	u.User = nil
	pass, _ := srv.URL.User.Password()
	return srv, inventory.Config{URL: u.String(), Username: srv.URL.User.Username(), Password: pass, Insecure: true}
}
