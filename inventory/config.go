package inventory

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config says how to reach vCenter and how to group VMs into apps. It
// follows govc's conventions (GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD,
// GOVC_INSECURE, GOVC_DATACENTER). Password is never serialised.
type Config struct {
	URL        string `json:"url"` // without credentials
	Username   string `json:"username,omitempty"`
	Password   string `json:"-"`
	Insecure   bool   `json:"insecure,omitempty"`
	Datacenter string `json:"datacenter,omitempty"` // empty: every datacenter

	// MaxAttempts bounds tries of one call on transient faults (0: 4);
	// RetryBase is the first backoff delay, doubled each time (0: 250ms).
	MaxAttempts int           `json:"maxAttempts,omitempty"`
	RetryBase   time.Duration `json:"retryBase,omitempty"`

	// Grouping is how the worker's DiscoverApp activity groups VMs into
	// apps (zero fields: DefaultOptions), so it matches `ferry discover`.
	Grouping Options `json:"grouping"`
}

// ConfigFromEnv reads the govc environment variables: GOVC_URL,
// GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE and GOVC_DATACENTER. A
// user:password inside GOVC_URL is accepted (as govc does) and moved into
// Username and Password, so URL never carries credentials; explicit
// GOVC_USERNAME/GOVC_PASSWORD win over the URL's.
func ConfigFromEnv() (Config, error) {
	return configFrom(os.Getenv)
}

func configFrom(getenv func(string) string) (Config, error) {
	cfg := Config{
		Username:   getenv("GOVC_USERNAME"),
		Password:   getenv("GOVC_PASSWORD"),
		Datacenter: getenv("GOVC_DATACENTER"),
	}
	if v := getenv("GOVC_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("GOVC_INSECURE=%q: use true or false", v)
		}
		cfg.Insecure = b
	}
	raw := getenv("GOVC_URL")
	if raw == "" {
		return cfg, errors.New("GOVC_URL is not set: export GOVC_URL=https://vcenter.example.com/sdk (and GOVC_USERNAME, GOVC_PASSWORD), or try 'ferry discover --sample'")
	}
	u, err := parseURL(raw)
	if err != nil {
		return cfg, err
	}
	if u.User != nil {
		if cfg.Username == "" {
			cfg.Username = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && cfg.Password == "" {
			cfg.Password = p
		}
		u.User = nil
	}
	cfg.URL = u.String()
	return cfg, nil
}

// parseURL accepts govc's short forms ("vc.example.com", "host:443",
// "user:pw@host") and returns https://host/sdk style URLs. Its errors never
// repeat the input, which may hold a password.
func parseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, errors.New("GOVC_URL is not a valid URL: use https://vcenter.example.com/sdk")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("GOVC_URL scheme %q: use https", u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}

// Redact returns u without userinfo, query or fragment: the form that may
// appear in messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cut anything up to an '@' so a malformed URL cannot leak a password.
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "<redacted>@" + raw[i+1:]
		}
		return raw
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
