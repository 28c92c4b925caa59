package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/runbooks"
)

// Client is one authenticated vCenter session: the vim25 (SOAP) client and
// the REST client used for tags. It is safe for concurrent use.
type Client struct {
	cfg    Config
	source string // URL without credentials, for messages
	vim    *vim25.Client
	rest   *rest.Client
	tags   *tags.Manager
	sm     *session.Manager
}

// Defaults for retrying transient faults.
const (
	defaultAttempts  = 4
	defaultRetryBase = 250 * time.Millisecond
	maxRetryDelay    = 5 * time.Second
)

// Connect opens one session to vCenter (SOAP and REST), retrying transient
// failures with backoff. Its errors are *Error with a reason and next step.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	source := Redact(cfg.URL)
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, &Error{Kind: KindFault, Reason: runbooks.ReasonVCenterUnreachable, Op: "connect", Source: source, Msg: err.Error()}
	}
	user := cfg.Username
	pass := cfg.Password
	if u.User != nil { // tolerate a URL with userinfo, but never keep it
		if user == "" {
			user = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && pass == "" {
			pass = p
		}
		u.User = nil
	}
	cfg.URL = u.String()
	source = cfg.URL
	if user == "" || pass == "" {
		return nil, &Error{Kind: KindAuth, Reason: runbooks.ReasonVCenterAuth, Op: "login", Source: source,
			Msg: "no credentials: set GOVC_USERNAME and GOVC_PASSWORD"}
	}
	c := &Client{cfg: cfg, source: source}

	err = c.retry(ctx, "connect", func() error {
		sc := soap.NewClient(u, cfg.Insecure)
		vc, err := vim25.NewClient(ctx, sc)
		if err != nil {
			return err
		}
		c.vim = vc
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.sm = session.NewManager(c.vim)
	userinfo := url.UserPassword(user, pass)
	if err := c.retry(ctx, "login", func() error { return c.sm.Login(ctx, userinfo) }); err != nil {
		return nil, err
	}
	c.rest = rest.NewClient(c.vim)
	if err := c.retry(ctx, "login (REST, for tags)", func() error { return c.rest.Login(ctx, userinfo) }); err != nil {
		_ = c.sm.Logout(ctx)
		return nil, err
	}
	c.tags = tags.NewManager(c.rest)
	return c, nil
}

// Close ends both sessions.
func (c *Client) Close(ctx context.Context) error {
	var errs []error
	if c.rest != nil {
		errs = append(errs, c.rest.Logout(ctx))
	}
	if c.sm != nil {
		errs = append(errs, c.sm.Logout(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return classify("logout", c.source, err)
	}
	return nil
}

// Vim is the SOAP client, for code in this package's siblings (decommission)
// that acts on VMs.
func (c *Client) Vim() *vim25.Client { return c.vim }

// Tags is the REST tagging manager.
func (c *Client) Tags() *tags.Manager { return c.tags }

// Source is the vCenter URL without credentials.
func (c *Client) Source() string { return c.source }

// VMByRef finds a VM by its managed object reference value (e.g. "vm-42")
// and returns it with its current name, so callers can check the VM is
// still the one the plan names before acting on it.
func (c *Client) VMByRef(ctx context.Context, ref string) (*object.VirtualMachine, string, error) {
	mor := types.ManagedObjectReference{Type: "VirtualMachine", Value: ref}
	if r := new(types.ManagedObjectReference); r.FromString(ref) && r.Type == "VirtualMachine" {
		mor = *r
	}
	var vm mo.VirtualMachine
	pc := property.DefaultCollector(c.vim)
	err := c.retry(ctx, "find VM "+ref, func() error {
		return pc.RetrieveOne(ctx, mor, []string{"name"}, &vm)
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if _, ok := vimFault(e.Err).(*types.ManagedObjectNotFound); ok {
				e.Kind = KindFault
				e.Reason = runbooks.ReasonVMIdentityMismatch
				e.Msg = fmt.Sprintf("VM %s no longer exists in vCenter: run 'ferry discover' and update the plan", ref)
			}
		}
		return nil, "", err
	}
	return object.NewVirtualMachine(c.vim, mor), vm.Name, nil
}

// retry runs f until it succeeds, fails with a non-retryable error, the
// attempts are used up or ctx ends. Errors come back classified.
func (c *Client) retry(ctx context.Context, op string, f func() error) error {
	attempts := c.cfg.MaxAttempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	delay := c.cfg.RetryBase
	if delay <= 0 {
		delay = defaultRetryBase
	}
	var err error
	for i := 0; i < attempts; i++ {
		err = f()
		if err == nil {
			return nil
		}
		err = classify(op, c.source, err)
		var e *Error
		if !errors.As(err, &e) || !e.Retryable() || ctx.Err() != nil {
			return err
		}
		if i == attempts-1 {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, maxRetryDelay)
	}
	var e *Error
	if errors.As(err, &e) && !strings.Contains(e.Msg, "attempts") {
		e.Msg += fmt.Sprintf(" (after %d attempts)", attempts)
	}
	return err
}
