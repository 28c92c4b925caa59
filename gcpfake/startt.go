package gcpfake

import "testing"

// StartT starts a fake for one test, as httptest.NewServer does for a
// handler: it fails tb when the fake cannot start and closes it when tb
// ends.
func StartT(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
