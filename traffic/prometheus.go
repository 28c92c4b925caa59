package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// PrometheusQuery runs an instant query against a Prometheus HTTP API
// (base URL, e.g. http://prometheus:9090) and returns its value: the scalar,
// or the largest sample of a vector. A query that returns no sample is a
// permanent error, so an absent metric never passes a gate (write
// `... or vector(0)` when no data means zero).
func PrometheusQuery(ctx context.Context, c *http.Client, base, query string) (float64, error) {
	obj := "prometheus " + redactURL(base)
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, &Error{Op: "query", Object: obj, Permanent: true, Err: fmt.Errorf("bad URL: %w", err)}
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
