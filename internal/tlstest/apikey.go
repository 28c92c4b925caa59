package tlstest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Authorize decides on the "authorization" header of one call: nil lets
// it through; a gRPC status error (Unauthenticated, PermissionDenied) is
// what the client gets.
type Authorize func(authorization string) error

// BearerKeys accepts "Bearer <key>" for the keys in ok, answers
// PermissionDenied for those in denied and Unauthenticated for anything
// else, like Temporal Cloud does for a wrong or missing API key.
func BearerKeys(ok, denied []string) Authorize {
	return func(h string) error {
		key, found := strings.CutPrefix(h, "Bearer ")
		if !found {
			return status.Error(codes.Unauthenticated, "missing API key")
		}
		for _, k := range ok {
			if key == k {
				return nil
			}
		}
		for _, k := range denied {
			if key == k {
				return status.Error(codes.PermissionDenied, "request unauthorized")
			}
		}
		return status.Error(codes.Unauthenticated, "invalid API key")
	}
}

// StartAPIKeyProxy serves gRPC over TLS with cfg on a loopback port,
// checks every call's authorization header with auth, and forwards the
// calls it lets through, frame by frame, to backend (a plaintext Temporal
// frontend). It returns host:port.
func StartAPIKeyProxy(t testing.TB, backend string, cfg *tls.Config, auth Authorize) string {
	t.Helper()
	up, err := grpc.NewClient(backend, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			return forward(ss, up, auth)
		}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		_ = up.Close()
	})
	return ln.Addr().String()
}

func forward(ss grpc.ServerStream, up *grpc.ClientConn, auth Authorize) error {
	method, _ := grpc.MethodFromServerStream(ss)
	in, _ := metadata.FromIncomingContext(ss.Context())
	var h string
	if v := in.Get("authorization"); len(v) > 0 {
		h = v[0]
	}
	if err := auth(h); err != nil {
		return err
	}
	out := metadata.MD{}
	for k, v := range in {
		if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" || k == "user-agent" || k == "te" || k == "authorization" {
			continue
		}
		out[k] = v
	}
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ss.Context(), out))
	defer cancel()
	cs, err := up.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method)
	if err != nil {
		return err
	}
	go func() {
		for {
			f := new(frame)
			if err := ss.RecvMsg(f); err != nil {
				_ = cs.CloseSend()
				return
			}
			if err := cs.SendMsg(f); err != nil {
				return
			}
		}
	}()
	first := true
	for {
		f := new(frame)
		err := cs.RecvMsg(f)
		if first {
			if md, herr := cs.Header(); herr == nil {
				_ = ss.SendHeader(md)
			}
			first = false
		}
		if err == io.EOF {
			ss.SetTrailer(cs.Trailer())
			return nil
		}
		if err != nil {
			ss.SetTrailer(cs.Trailer())
			return err
		}
		if err := ss.SendMsg(f); err != nil {
			return err
		}
	}
}

// frame is one gRPC message, passed through undecoded.
type frame struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*frame).b, nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*frame).b = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }
