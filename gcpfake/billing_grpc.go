package gcpfake

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/billing/apiv1/billingpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// billingEffective is when the fake's prices took effect: the snapshot's
// date.
var billingEffective = func() *timestamppb.Timestamp {
	t, err := time.Parse("2006-01-02", gce.AsOf)
	if err != nil {
		t = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return timestamppb.New(t)
}()

// billingServer is google.cloud.billing.v1.CloudCatalog: ListServices and
// ListSkus, paged as the real API pages them (5,000 per page unless asked
// for fewer; the next_page_token is opaque and bound to the listing).
type billingServer struct {
	billingpb.UnimplementedCloudCatalogServer
	s *Server
	b *Billing

	mu    sync.Mutex
	calls map[string]int
}

// maxBillingPage is the real API's default and largest page.
const maxBillingPage = 5000

func (s *Server) startBilling() error {
	host, _, err := net.SplitHostPort(s.opts.Addr)
	if err != nil {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("gcpfake: listen for the Cloud Billing Catalog API: %w", err)
	}
	srv := &billingServer{s: s, b: s.billing, calls: map[string]int{}}
	g := grpc.NewServer(grpc.UnaryInterceptor(srv.intercept))
	billingpb.RegisterCloudCatalogServer(g, srv)
	s.billLn, s.billGRPC, s.billSrv = ln, g, srv
	go func() { _ = g.Serve(ln) }()
	return nil
}

func (s *Server) closeBilling() {
	if s.billGRPC != nil {
		s.billGRPC.Stop()
	}
}

// BillingEndpoint is the host:port of the Cloud Billing Catalog gRPC API,
// for option.WithEndpoint with option.WithoutAuthentication() and
// option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))
// (gcp.Config.BillingOptions does this).
func (s *Server) BillingEndpoint() string { return s.billLn.Addr().String() }

// BillingCalls counts the Cloud Billing Catalog calls served, by method
// ("ListSkus"), faulted ones included.
func (s *Server) BillingCalls(method string) int {
	s.billSrv.mu.Lock()
	defer s.billSrv.mu.Unlock()
	return s.billSrv.calls[method]
}

// intercept counts calls and applies injected faults: a Fault's
// PathRegexp matches the full gRPC method
// ("/google.cloud.billing.v1.CloudCatalog/ListSkus"); 403 answers
// PERMISSION_DENIED as Google does for a caller without access or a
// project where the API is disabled.
func (bs *billingServer) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	bs.mu.Lock()
	bs.calls[info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]]++
	bs.mu.Unlock()
	if err := bs.s.grpcFault(ctx, info.FullMethod, "Quota exceeded for quota metric 'Read requests'", "Cloud Billing API has not been used in this project before or it is disabled. Enable it and retry."); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// ListServices lists the public services the fake knows.
func (bs *billingServer) ListServices(_ context.Context, req *billingpb.ListServicesRequest) (*billingpb.ListServicesResponse, error) {
	from, size, err := pageWindow("services", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	to := min(from+size, len(billingServices))
	resp := &billingpb.ListServicesResponse{Services: billingServices[min(from, to):to]}
	if to < len(billingServices) {
		resp.NextPageToken = pageToken("services", to)
	}
	return resp, nil
}

var billingServiceRE = regexp.MustCompile(`^services/[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$`)

// ListSkus lists the SKUs of one service in USD: a malformed service name
// is INVALID_ARGUMENT, a well-formed one that names no service NOT_FOUND.
func (bs *billingServer) ListSkus(_ context.Context, req *billingpb.ListSkusRequest) (*billingpb.ListSkusResponse, error) {
	parent := req.GetParent()
	if !billingServiceRE.MatchString(parent) {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid service name %q: expected services/SERVICE_ID, e.g. services/6F81-5844-456A.", parent)
	}
	known := false
	for _, s := range billingServices {
		known = known || s.GetName() == parent
	}
	if !known {
		return nil, status.Errorf(codes.NotFound, "Service %q not found.", parent)
	}
	if cc := req.GetCurrencyCode(); cc != "" && cc != "USD" {
		return nil, status.Errorf(codes.Unimplemented, "currency_code %q: gcpfake lists USD prices only", cc)
	}
	now := time.Now()
	for _, t := range []*timestamppb.Timestamp{req.GetStartTime(), req.GetEndTime()} {
		if t != nil && t.AsTime().After(now) {
			return nil, status.Error(codes.InvalidArgument, "Timestamps in the future are not allowed.")
		}
	}
	from, size, err := pageWindow(parent, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	all := bs.b.SKUs(parent)
	to := min(from+size, len(all))
	resp := &billingpb.ListSkusResponse{Skus: all[min(from, to):to]}
	if to < len(all) {
		resp.NextPageToken = pageToken(parent, to)
	}
	return resp, nil
}

// pageWindow is the offset and size of the page a request asks for.
func pageWindow(listing string, size int32, token string) (from, n int, err error) {
	if size < 0 {
		return 0, 0, status.Errorf(codes.InvalidArgument, "page_size must not be negative, got %d.", size)
	}
	n = maxBillingPage
	if size > 0 && size < maxBillingPage {
		n = int(size)
	}
	if token == "" {
		return 0, n, nil
	}
	raw, derr := base64.RawURLEncoding.DecodeString(token)
	l, off, ok := strings.Cut(string(raw), "|")
	from, aerr := strconv.Atoi(off)
	if derr != nil || !ok || aerr != nil || from < 0 || l != listing {
		return 0, 0, status.Error(codes.InvalidArgument, "Invalid page token.")
	}
	return from, n, nil
}

// pageToken is opaque to clients; it is only valid for the listing that
// returned it.
func pageToken(listing string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + "|" + strconv.Itoa(offset)))
}
