package devstack

// The dev plan's HTTPS app: web-portal (the storefront) behind an external
// HTTPS load balancer with a self-managed certificate for
// storefront.ferry.example, signed by a dev CA the stack keeps in its
// state directory. Its clients use that name: a client_dns block moves it
// from the datacenter to the load balancer with the cutover, and back on
// rollback. The SLO gate probes https://storefront.ferry.example/ as a
// client would: the worker resolves the name through the stack's DNS
// server and trusts the dev CA.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
)

// The dev plan's HTTPS app and the public name its clients use.
const (
	DevHTTPSApp = "web-portal"
	// DevZone is the Cloud DNS managed zone of the dev stack's public
	// names (DevDNSName); DevInternalZone holds internal.ferry.example.
	DevZone    = "ferry-dev"
	DevDNSName = "ferry.example."
	// DevHTTPSHost is the name the certificate covers and clients use.
	DevHTTPSHost = "storefront.ferry.example"
	// DevHTTPSTTL is the TTL of the name's record before the cutover, in
	// seconds: the cutover waits it out once the TTL is lowered, so it is
	// short here (a datacenter's record often has minutes).
	DevHTTPSTTL = 10
	// devHTTPSTTLDuring is the plan's ttl_during of the name.
	devHTTPSTTLDuring = "5s"
)

// DevTLS are the dev stack's certificate files, under <state>/tls.
type DevTLS struct {
	CAFile   string // the dev CA's certificate: what clients and the worker trust
	CertFile string // DevHTTPSHost's certificate (the plan's cert_file)
	KeyFile  string // its key (the plan's key_file)
}

// Lifetimes of the dev certificates; a leaf with less than leafRenew left
// is issued again at start (a new cert_file content: terraform replaces
// the SSL certificate, create_before_destroy).
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 397 * 24 * time.Hour
	leafRenew    = 30 * 24 * time.Hour
)

// DevCertificates returns the dev CA and DevHTTPSHost's certificate under
// dir/tls, making what is missing, expiring or not signed by the CA on
// disk: a restarted stack keeps them, so a client that trusts the dev CA
// keeps trusting the stack.
func DevCertificates(dir string) (DevTLS, error) {
	d := filepath.Join(dir, "tls")
	t := DevTLS{CAFile: filepath.Join(d, "ca.pem"), CertFile: filepath.Join(d, DevHTTPSHost+".pem"), KeyFile: filepath.Join(d, DevHTTPSHost+".key")}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return t, fmt.Errorf("dev certificates: %w", err)
	}
	caKeyFile := filepath.Join(d, "ca.key")
	ca, caKey, err := loadPair(t.CAFile, caKeyFile)
	if err != nil || !ca.IsCA || time.Until(ca.NotAfter) < leafLifetime {
		if ca, caKey, err = newCA(dir); err != nil {
			return t, fmt.Errorf("dev CA: %w", err)
		}
		if err := writePair(t.CAFile, caKeyFile, ca.Raw, caKey); err != nil {
			return t, err
		}
	}
	leaf, _, err := loadPair(t.CertFile, t.KeyFile)
	if err == nil && leaf.CheckSignatureFrom(ca) == nil && leaf.VerifyHostname(DevHTTPSHost) == nil && time.Until(leaf.NotAfter) > leafRenew {
		return t, nil
	}
	der, key, err := newLeaf(ca, caKey, DevHTTPSHost)
	if err != nil {
		return t, fmt.Errorf("dev certificate for %s: %w", DevHTTPSHost, err)
	}
	return t, writePair(t.CertFile, t.KeyFile, der, key)
}

func newCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"ferry dev"}, CommonName: "ferry dev CA " + filepath.Base(dir)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caLifetime), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(leafLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	return der, key, err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// loadPair reads a PEM certificate and its ECDSA key; an error when
// either is missing, unreadable or they do not match.
func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("not an ECDSA key")
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	return cert, key, err
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("dev certificates: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("dev certificates: %w", err)
	}
	return nil
}

// DevHTTPS puts DevHTTPSApp behind an external HTTPS load balancer in the
// dev plan, with t's certificate, public_url on DevHTTPSHost and a
// client_dns block moving that name (the app is left alone when the
// portfolio lacks it).
func DevHTTPS(src []byte, t DevTLS) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "ferry.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("dev plan: %s", diags.Error())
	}
	for _, app := range f.Body().Blocks() {
		if app.Type() != "app" || len(app.Labels()) != 1 || app.Labels()[0] != DevHTTPSApp {
			continue
		}
		c := app.Body().FirstMatchingBlock("cutover", nil)
		if c == nil {
			c = app.Body().AppendNewBlock("cutover", nil)
		}
		cb := c.Body()
		cb.SetAttributeValue("load_balancer", cty.StringVal(plan.LBExternalHTTPS))
		// The name clients use; the certificate covers it, not the
		// load balancer's IP.
		cb.SetAttributeValue("public_url", cty.StringVal("https://"+DevHTTPSHost+"/"))
		tb := cb.AppendNewBlock("tls", nil).Body()
		tb.SetAttributeValue("cert_file", cty.StringVal(t.CertFile))
		tb.SetAttributeValue("key_file", cty.StringVal(t.KeyFile))
		d := cb.AppendNewBlock("client_dns", nil).Body()
		d.SetAttributeValue("zone", cty.StringVal(DevZone))
		d.SetAttributeValue("name", cty.StringVal(DevHTTPSHost+"."))
		d.SetAttributeValue("ttl_during", cty.StringVal(devHTTPSTTLDuring))
	}
	return f.Bytes(), nil
}

// serveClientNames creates in the fake the public zone of the dev plan's
// client_dns names and each name's record, on the app's datacenter
// addresses, as the datacenter's DNS has it before any cutover. Existing
// ones are kept.
func serveClientNames(ctx context.Context, fake *gcpfake.Server, specs []plan.AppSpec) error {
	for _, s := range specs {
		for _, c := range s.Cutover.ClientDNS {
			if c.Zone != DevZone {
				continue
			}
			project := c.Project
			if project == "" {
				project = s.Project
			}
			zones := fake.DNSEndpoint() + "projects/" + project + "/managedZones"
			err := devPost(ctx, zones, map[string]any{
				"name": DevZone, "dnsName": DevDNSName, "description": "ferry dev: the names clients use", "visibility": "public"})
			if err != nil {
				return fmt.Errorf("dev DNS zone for %s: %w", s.Name, err)
			}
			var ips []string
			for _, ep := range s.Cutover.DCEndpoints {
				if h, _, err := net.SplitHostPort(ep); err == nil && !slices.Contains(ips, h) && net.ParseIP(h).To4() != nil {
					ips = append(ips, h)
				}
			}
			if len(ips) == 0 {
				return fmt.Errorf("dev DNS name %s of %s: the app has no IPv4 datacenter endpoint to point it at", c.Name, s.Name)
			}
			err = devPost(ctx, zones+"/"+DevZone+"/changes", map[string]any{"additions": []any{map[string]any{
				"name": strings.ToLower(c.Name), "type": "A", "ttl": DevHTTPSTTL, "rrdatas": ips}}})
			if err != nil {
				return fmt.Errorf("dev DNS name %s of %s: %w", c.Name, s.Name, err)
			}
		}
	}
	return nil
}
