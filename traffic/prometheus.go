package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/ferrymigrate/ferry/plan"
)

// PrometheusQuery runs an instant query against a Prometheus HTTP API
// (base URL, e.g. http://prometheus:9090) and returns its value: the scalar,
// or the largest sample of a vector. A query that returns no sample is a
// permanent error, so an absent metric never passes a gate (write
// `... or vector(0)` when no data means zero).
func PrometheusQuery(ctx context.Context, c *http.Client, base, query string) (float64, error) {
	return (&Prometheus{Base: base, Client: c}).Query(ctx, query)
}

// Prometheus is a Prometheus HTTP API (or Google Managed Prometheus's)
// with its credentials. Build it with NewPrometheus; the credentials stay
// in it and never appear in its errors.
type Prometheus struct {
	Base   string
	Client *http.Client
	// authorize sets the request's credentials (bearer or basic).
	authorize func(*http.Request)
}

// PrometheusAuth says how to authenticate: Kind is plan.PromAuth*; the
// secrets come from the worker (its environment), never from a plan.
type PrometheusAuth struct {
	Kind     string
	Token    string // bearer
	Username string // basic
	Password string // basic
}

// Query runs an instant query (see PrometheusQuery).
func (p *Prometheus) Query(ctx context.Context, query string) (float64, error) {
	base, c := p.Base, p.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultProbeTimeout}
	}
	obj := "prometheus " + redactURL(base)
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad URL: %w", err)}
	}
	if p.authorize != nil {
		p.authorize(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, &Error{Op: "query", Object: obj, Err: fmt.Errorf("unreachable: %s", shortErr(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, &Error{Op: "query", Object: obj, Err: err}
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return 0, &Error{Op: "query", Object: obj, Permanent: true,
			Err: fmt.Errorf("HTTP %d: the credentials were refused; check the worker's token or password variable named in the plan", resp.StatusCode)}
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, &Error{Op: "query", Object: obj, Permanent: resp.StatusCode < 500,
			Err: fmt.Errorf("HTTP %d, not a Prometheus API answer", resp.StatusCode)}
	}
	if r.Status != "success" {
		// 400/422 are a bad query (permanent); 503 and the like may pass.
		return 0, &Error{Op: "query", Object: obj, Permanent: resp.StatusCode < 500,
			Err: fmt.Errorf("%s: %s (query %q)", r.ErrorType, r.Error, query)}
	}
	switch r.Data.ResultType {
	case "scalar":
		var pair []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad scalar: %w", err)}
		}
		return sampleValue(pair, obj)
	case "vector":
		var series []struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad vector: %w", err)}
		}
		if len(series) == 0 {
			return 0, &Error{Op: "query", Object: obj, Permanent: true,
				Err: fmt.Errorf("query %q returned no sample", query)}
		}
		best := math.Inf(-1)
		for _, s := range series {
			v, err := sampleValue(s.Value, obj)
			if err != nil {
				return 0, err
			}
			if math.IsNaN(v) {
				return v, nil
			}
			best = max(best, v)
		}
		return best, nil
	default:
		return 0, &Error{Op: "query", Object: obj, Permanent: true,
			Err: fmt.Errorf("result type %q: the gate needs a scalar or an instant vector", r.Data.ResultType)}
	}
}

// sampleValue parses [timestamp, "value"].
func sampleValue(pair []json.RawMessage, obj string) (float64, error) {
	var s string
	if len(pair) != 2 || json.Unmarshal(pair[1], &s) != nil {
		return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad sample %s", pair)}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad sample value %q", s)}
	}
	return v, nil
}

// redactURL drops credentials and the query from a URL before it goes into
// an error.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// NewPrometheus builds the client of a Prometheus API: bearer and basic
// credentials are set on every request; google uses Application Default
// Credentials (Google Managed Prometheus:
// https://monitoring.googleapis.com/v1/projects/PROJECT/location/global/prometheus).
// base is the client's transport for none, bearer and basic (nil: a
// default with the probe timeout).
func NewPrometheus(ctx context.Context, url string, auth PrometheusAuth, base *http.Client) (*Prometheus, error) {
	if base == nil {
		base = &http.Client{Timeout: DefaultProbeTimeout}
	}
	p := &Prometheus{Base: url, Client: base}
	obj := "prometheus " + redactURL(url)
	switch auth.Kind {
	case "", plan.PromAuthNone:
	case plan.PromAuthBearer:
		if auth.Token == "" {
			return nil, &Error{Op: "configure", Object: obj, Permanent: true, Err: errors.New("bearer auth without a token: set the variable the plan's bearer_token_env names in the worker's environment")}
		}
		tok := auth.Token
		p.authorize = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	case plan.PromAuthBasic:
		if auth.Username == "" || auth.Password == "" {
			return nil, &Error{Op: "configure", Object: obj, Permanent: true, Err: errors.New("basic auth without a username or password: set the variable the plan's password_env names in the worker's environment")}
		}
		user, pw := auth.Username, auth.Password
		p.authorize = func(r *http.Request) { r.SetBasicAuth(user, pw) }
	case plan.PromAuthGoogle:
		c, _, err := htransport.NewClient(ctx, option.WithScopes("https://www.googleapis.com/auth/monitoring.read"))
		if err != nil {
			return nil, &Error{Op: "configure", Object: obj, Permanent: true,
				Err: fmt.Errorf("read Application Default Credentials for Google Managed Prometheus: %w", err)}
		}
		c.Timeout = base.Timeout
		p.Client = c
	default:
		return nil, &Error{Op: "configure", Object: obj, Permanent: true, Err: fmt.Errorf("unknown auth %q", auth.Kind)}
	}
	return p, nil
}
