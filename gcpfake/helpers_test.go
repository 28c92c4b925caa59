package gcpfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

func fakestorageListAll() fakestorage.ListOptions { return fakestorage.ListOptions{} }

// putLock writes a terraform GCS lock object as another holder would.
func putLock(t *testing.T, s *Server, bucket, name string) {
	t.Helper()
	info, _ := json.Marshal(map[string]string{"ID": "other-holder", "Operation": "OperationTypeApply", "Who": "someone@elsewhere"})
	s.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name}, Content: info})
}

// shiftWeights does what ferry's traffic code does: GET the URL map, set
// the weights, PATCH with the fingerprint.
func shiftWeights(t *testing.T, s *Server, project, urlMap string, weights map[string]int) {
	t.Helper()
	url := s.ComputeEndpoint() + "projects/" + project + "/global/urlMaps/" + urlMap
	code, _, um := do(t, "GET", url, "")
	if code != 200 {
		t.Fatalf("get URL map: %d", code)
	}
	ra := um["defaultRouteAction"].(map[string]any)
	for _, x := range ra["weightedBackendServices"].([]any) {
		w := x.(map[string]any)
		w["weight"] = weights[lastSegment(w["backendService"].(string))]
	}
	body, _ := json.Marshal(map[string]any{"fingerprint": um["fingerprint"], "defaultRouteAction": ra})
	code, _, resp := do(t, http.MethodPatch, url, string(bytes.TrimSpace(body)))
	if code != 200 {
		t.Fatalf("patch URL map: %d %v", code, resp)
	}
}
