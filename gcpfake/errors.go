package gcpfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error in Google's JSON error shape; handlers return it and
// the router writes it.
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
	412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

func errNotFound(resource string) *apiError {
	return &apiError{404, "notFound", fmt.Sprintf("The resource '%s' was not found", resource)}
}

func errAlreadyExists(resource string) *apiError {
	return &apiError{409, "alreadyExists", fmt.Sprintf("The resource '%s' already exists", resource)}
}

func errInvalid(format string, args ...any) *apiError {
	return &apiError{400, "invalid", fmt.Sprintf(format, args...)}
}

func errConditionNotMet(what string) *apiError {
	return &apiError{412, "conditionNotMet", fmt.Sprintf("Supplied fingerprint does not match current %s fingerprint.", what)}
}

func errInUse(resource, user string) *apiError {
	return &apiError{400, "resourceInUseByAnotherResource",
		fmt.Sprintf("The %s resource '%s' is already being used by '%s'", kindWord(resource), resource, user)}
}

func kindWord(path string) string {
	// "projects/p/global/backendServices/x" -> "backendService"
	parts := splitPath(path)
	if len(parts) >= 2 {
		c := parts[len(parts)-2]
		if len(c) > 1 && c[len(c)-1] == 's' {
			return c[:len(c)-1]
		}
		return c
	}
	return "resource"
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"errors":  []any{map[string]any{"message": e.Message, "domain": "global", "reason": e.Reason}},
		"status":  statusNames[e.Code],
	}}
	writeJSON(w, e.Code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = 500, []byte(`{"error":{"code":500,"message":"gcpfake: cannot encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
