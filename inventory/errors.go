package inventory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/runbooks"
)

// Kind classifies what went wrong talking to vCenter, so callers (the CLI,
// activities) can choose a message and whether to retry.
type Kind string

// Kinds of errors.
const (
	KindUnreachable       Kind = "unreachable"        // network: DNS, refused, timeout
	KindTLS               Kind = "tls"                // certificate not trusted or wrong host
	KindAuth              Kind = "auth"               // bad credentials or expired session
	KindPermission        Kind = "permission"         // the user lacks a privilege
	KindUnknownDatacenter Kind = "unknown-datacenter" // GOVC_DATACENTER names nothing
	KindTransient         Kind = "transient"          // a fault vCenter says may pass
	KindFault             Kind = "fault"              // any other vSphere fault
)

// Error is a vCenter failure with the Temporal-facing reason and a message
// that names the object and the next step. It never holds credentials.
type Error struct {
	Kind   Kind
	Reason runbooks.Reason
	Op     string // what ferry was doing, e.g. "login", "retrieve VirtualMachine"
	Source string // vCenter URL without userinfo
	Msg    string // the person-facing explanation with the next step
	Err    error
}

func (e *Error) Error() string {
	s := e.Op + " on " + e.Source + ": " + e.Msg
	if e.Err != nil {
		s += " (" + scrub(e.Err.Error()) + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable says whether trying the same call again later can succeed.
func (e *Error) Retryable() bool {
	return e.Kind == KindUnreachable || e.Kind == KindTransient
}

// scrub removes userinfo from any URL inside an error text (net/http puts
// the request URL into its errors).
func scrub(s string) string {
	for _, scheme := range []string{"https://", "http://"} {
		off := 0
		for {
			i := strings.Index(s[off:], scheme)
			if i < 0 {
				break
			}
			start := off + i + len(scheme)
			end := start + strings.IndexAny(s[start:]+" ", " /\"'")
			if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
				s = s[:start] + s[start+at+1:]
			}
			off = start
		}
	}
	return s
}

// classify turns any error of a vCenter call into an *Error.
func classify(op, source string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	mk := func(k Kind, r runbooks.Reason, msg string) *Error {
		return &Error{Kind: k, Reason: r, Op: op, Source: source, Msg: msg, Err: err}
	}

	if f := vimFault(err); f != nil {
		switch f := f.(type) {
		case *types.InvalidLogin, *types.NotAuthenticated, *types.InvalidClientCertificate:
			return mk(KindAuth, runbooks.ReasonVCenterAuth,
				"vCenter rejected the credentials: check GOVC_USERNAME and GOVC_PASSWORD (a user like administrator@vsphere.local), and that the account is not locked")
		case *types.NoPermission:
			obj := "the object"
			if f.Object != nil {
				obj = f.Object.String()
			}
			return mk(KindPermission, runbooks.ReasonVCenterPermission,
				fmt.Sprintf("the vCenter user lacks privilege %q on %s: grant it the Read-only role (propagated) on the datacenters to discover, plus tag read access", f.PrivilegeId, obj))
		case *types.SystemError, *types.SystemErrorFault, *types.HostCommunication, *types.TaskInProgress,
			*types.ConcurrentAccess, *types.RequestCanceled, *types.Timedout:
			return mk(KindTransient, runbooks.ReasonVCenterFault,
				"vCenter reported a transient fault; ferry retries it; if it persists check vCenter's health (vpxd) and load")
		}
		if fault.IsTransientError(err) {
			return mk(KindTransient, runbooks.ReasonVCenterFault,
				"vCenter reported a transient fault; ferry retries it")
		}
		return mk(KindFault, runbooks.ReasonVCenterFault,
			"vCenter returned a fault: see the vCenter events and the vcenter-fault runbook")
	}

	if rest.IsStatusError(err, http.StatusUnauthorized) {
		return mk(KindAuth, runbooks.ReasonVCenterAuth,
			"the vSphere REST API (tags) rejected the session: check GOVC_USERNAME and GOVC_PASSWORD")
	}
	if rest.IsStatusError(err, http.StatusForbidden) {
		return mk(KindPermission, runbooks.ReasonVCenterPermission,
			"the vCenter user may not read tags: grant it the Read-only role with tag read access")
	}
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests, http.StatusInternalServerError} {
		if rest.IsStatusError(err, code) {
			return mk(KindTransient, runbooks.ReasonVCenterFault,
				fmt.Sprintf("the vSphere REST API answered %d; ferry retries it", code))
		}
	}

	if isTLS(err) {
		return mk(KindTLS, runbooks.ReasonVCenterUnreachable,
			"vCenter's TLS certificate is not trusted (unknown authority or wrong host name): add vCenter's CA to the system trust store, use the host name the certificate names, or for a lab only set GOVC_INSECURE=1")
	}

	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &de) || errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection refused") {
		return mk(KindUnreachable, runbooks.ReasonVCenterUnreachable,
			"cannot reach vCenter: check GOVC_URL (https://host/sdk), DNS, the VPN or firewall path to port 443, and that vCenter is up")
	}
	if sf := soapFault(err); sf != "" {
		return mk(KindFault, runbooks.ReasonVCenterFault, "vCenter returned a SOAP fault: "+sf)
	}
	return mk(KindFault, runbooks.ReasonVCenterFault, "vCenter call failed: see the vcenter-fault runbook")
}

func vimFault(err error) types.BaseMethodFault {
	var found types.BaseMethodFault
	fault.In(err, func(f types.BaseMethodFault, _ string, _ []types.LocalizableMessage) bool {
		if found == nil {
			found = f
		}
		return false
	})
	if found == nil && soap.IsSoapFault(err) {
		if d := soap.ToSoapFault(err).Detail.Fault; d != nil {
			if f, ok := d.(types.BaseMethodFault); ok {
				found = f
			}
		}
	}
	return found
}

func soapFault(err error) string {
	if soap.IsSoapFault(err) {
		return soap.ToSoapFault(err).String
	}
	return ""
}

func isTLS(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.As(err, &cv) || errors.As(err, &rh) || soap.IsCertificateUntrusted(err)
}
