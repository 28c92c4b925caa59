package gcpfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Cloud DNS v1: managed zones, record sets and changes, under /dns/v1/.
// Changes apply at once and report status "done".

func (s *Server) serveDNS(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, "/dns/v1/")
	p := splitPath(rel)
	for i := range p {
		if u, err := url.PathUnescape(p[i]); err == nil {
			p[i] = u
		}
	}
	if len(p) < 3 || p[0] != "projects" || p[2] != "managedZones" {
		writeError(w, errNotFound(rel))
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		b, _ := io.ReadAll(r.Body)
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				writeError(w, &apiError{400, "parseError", "Parse Error: " + err.Error()})
				return
			}
		}
	}
	if body == nil {
		body = map[string]any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	project := p[1]
	out, aerr := s.dispatchDNS(r, project, p[3:], body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.Method != http.MethodGet {
		s.save()
	}
	if out == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func zoneKey(project, zone string) string {
	return fmt.Sprintf("dns/projects/%s/managedZones/%s", project, zone)
}

func rrKey(project, zone, name, typ string) string {
	return zoneKey(project, zone) + "/rrsets/" + name + "/" + typ
}

func (s *Server) dispatchDNS(r *http.Request, project string, p []string, body map[string]any) (any, *apiError) {
	q := r.URL.Query()
	if len(p) == 0 {
		switch r.Method {
		case http.MethodGet:
			var zones []any
			for _, o := range s.sortedObjects(project, "managedZones", "") {
				if dn := q.Get("dnsName"); dn == "" || o.Body["dnsName"] == dn {
					zones = append(zones, copyMap(o.Body))
				}
			}
			return map[string]any{"kind": "dns#managedZonesListResponse", "managedZones": orEmpty(zones)}, nil
		case http.MethodPost:
			return s.createZone(project, body)
		}
		return nil, errNotFound("projects/" + project + "/managedZones")
	}
	zone := p[0]
	zo := s.state.Objects[zoneKey(project, zone)]
	if zo == nil {
		return nil, errNotFound(fmt.Sprintf("projects/%s/managedZones/%s", project, zone))
	}
	if len(p) == 1 {
		switch r.Method {
		case http.MethodGet:
			return copyMap(zo.Body), nil
		case http.MethodDelete:
			for _, o := range s.sortedObjects(project, "rrsets", zone) {
				if t := o.Body["type"]; t != "SOA" && t != "NS" || o.Body["name"] != zo.Body["dnsName"] {
					return nil, &apiError{400, "containerNotEmpty", fmt.Sprintf("The resource named '%s' cannot be deleted because it is not empty", zone)}
				}
			}
			for k, o := range s.state.Objects {
				if o.Kind == "rrsets" && o.Project == project && o.Parent == zone {
					delete(s.state.Objects, k)
				}
			}
			delete(s.state.Objects, zoneKey(project, zone))
			delete(s.state.Changes, project+"/"+zone)
			return nil, nil
		case http.MethodPatch, http.MethodPut:
			next := copyMap(body)
			if r.Method == http.MethodPatch {
				next = mergePatch(copyMap(zo.Body), body)
			}
			for _, k := range []string{"kind", "id", "name", "dnsName", "creationTime", "nameServers"} {
				next[k] = zo.Body[k]
			}
			zo.Body = next
			return map[string]any{"kind": "dns#operation", "id": idString(s.nextID()), "status": "done", "type": "UPDATE",
				"zoneContext": map[string]any{"oldValue": copyMap(zo.Body), "newValue": copyMap(next)}}, nil
		}
	}
	switch p[1] {
	case "rrsets":
		return s.serveRRSets(r, project, zo, p[2:], body)
	case "changes":
		ck := project + "/" + zone
		changes, _ := s.state.Changes[ck].([]any)
		if len(p) == 2 && r.Method == http.MethodPost {
			return s.applyChange(project, zo, body)
		}
		if len(p) == 2 && r.Method == http.MethodGet {
			return map[string]any{"kind": "dns#changesListResponse", "changes": orEmpty(changes)}, nil
		}
		if len(p) == 3 && r.Method == http.MethodGet {
			for _, c := range changes {
				if c.(map[string]any)["id"] == p[2] {
					return c, nil
				}
			}
			return nil, errNotFound(fmt.Sprintf("projects/%s/managedZones/%s/changes/%s", project, zone, p[2]))
		}
	}
	return nil, errNotFound(strings.Join(p, "/"))
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func (s *Server) sortedObjects(project, kind, parent string) []*object {
	var keys []string
	for k, o := range s.state.Objects {
		if o.Project == project && o.Kind == kind && o.Parent == parent {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]*object, len(keys))
	for i, k := range keys {
		out[i] = s.state.Objects[k]
	}
	return out
}

func (s *Server) createZone(project string, body map[string]any) (any, *apiError) {
	name, _ := body["name"].(string)
	if !nameRE.MatchString(name) {
		return nil, errInvalid("Invalid value for 'entity.managedZone.name': '%s'", name)
	}
	dnsName, _ := body["dnsName"].(string)
	if !strings.HasSuffix(dnsName, ".") {
		return nil, errInvalid("Invalid value for 'entity.managedZone.dnsName': '%s' (must end with a dot)", dnsName)
	}
	key := zoneKey(project, name)
	if s.state.Objects[key] != nil {
		return nil, errAlreadyExists(fmt.Sprintf("projects/%s/managedZones/%s", project, name))
	}
	b := copyMap(body)
	b["kind"] = "dns#managedZone"
	b["id"] = idString(s.nextID())
	b["creationTime"] = now()
	setDefault(b, "visibility", "public")
	if b["visibility"] == "public" {
		delete(b, "privateVisibilityConfig") // only private zones have one
	}
	pruneEmpty(b)
	setDefault(b, "description", "")
	ns := []any{"ns-cloud-a1.googledomains.com.", "ns-cloud-a2.googledomains.com.", "ns-cloud-a3.googledomains.com.", "ns-cloud-a4.googledomains.com."}
	b["nameServers"] = ns
	s.state.Objects[key] = &object{Kind: "managedZones", Project: project, Name: name, Body: b}
	s.putRR(project, name, map[string]any{"name": dnsName, "type": "NS", "ttl": 21600, "rrdatas": ns})
	s.putRR(project, name, map[string]any{"name": dnsName, "type": "SOA", "ttl": 21600,
		"rrdatas": []any{"ns-cloud-a1.googledomains.com. cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"}})
	return copyMap(b), nil
}

func (s *Server) putRR(project, zone string, rr map[string]any) {
	rr["kind"] = "dns#resourceRecordSet"
	name, typ := rr["name"].(string), rr["type"].(string)
	s.state.Objects[rrKey(project, zone, name, typ)] = &object{Kind: "rrsets", Project: project, Parent: zone,
		Name: name + " " + typ, Body: rr}
}

// checkRR validates one record set of a change or create.
func checkRR(zo *object, rr map[string]any) *apiError {
	name, _ := rr["name"].(string)
	typ, _ := rr["type"].(string)
	dnsName := zo.Body["dnsName"].(string)
	if !strings.HasSuffix(name, ".") || (name != dnsName && !strings.HasSuffix(name, "."+dnsName)) {
		return errInvalid("Invalid value for 'entity.change.additions[0].name': '%s' (must be a fully qualified name within %s)", name, dnsName)
	}
	if typ == "" {
		return errInvalid("Invalid value for 'entity.change.additions[0].type': ''")
	}
	if len(toSlice(rr["rrdatas"])) == 0 && rr["routingPolicy"] == nil {
		return errInvalid("The resource record set '%s %s' needs rrdatas or a routingPolicy", name, typ)
	}
	return nil
}

func (s *Server) serveRRSets(r *http.Request, project string, zo *object, p []string, body map[string]any) (any, *apiError) {
	zone := zo.Name
	if len(p) == 0 {
		switch r.Method {
		case http.MethodGet:
			q := r.URL.Query()
			var out []any
			for _, o := range s.sortedObjects(project, "rrsets", zone) {
				if n := q.Get("name"); n != "" && o.Body["name"] != n {
					continue
				}
				if t := q.Get("type"); t != "" && o.Body["type"] != t {
					continue
				}
				out = append(out, copyMap(o.Body))
			}
			return map[string]any{"kind": "dns#resourceRecordSetsListResponse", "rrsets": orEmpty(out)}, nil
		case http.MethodPost:
			if aerr := checkRR(zo, body); aerr != nil {
				return nil, aerr
			}
			name, typ := body["name"].(string), body["type"].(string)
			if s.state.Objects[rrKey(project, zone, name, typ)] != nil {
				return nil, errAlreadyExists(fmt.Sprintf("entity.change.additions[%s][%s]", name, typ))
			}
			rr := copyMap(body)
			s.putRR(project, zone, rr)
			s.recordChange(project, zone, []any{copyMap(rr)}, nil)
			return copyMap(rr), nil
		}
		return nil, errNotFound("rrsets")
	}
	if len(p) != 2 {
		return nil, errNotFound(strings.Join(p, "/"))
	}
	key := rrKey(project, zone, p[0], p[1])
	o := s.state.Objects[key]
	if o == nil {
		return nil, errNotFound(fmt.Sprintf("projects/%s/managedZones/%s/rrsets/%s/%s", project, zone, p[0], p[1]))
	}
	switch r.Method {
	case http.MethodGet:
		return copyMap(o.Body), nil
	case http.MethodDelete:
		old := copyMap(o.Body)
		delete(s.state.Objects, key)
		s.recordChange(project, zone, nil, []any{old})
		return map[string]any{}, nil
	case http.MethodPatch:
		old := copyMap(o.Body)
		next := copyMap(body)
		next["name"], next["type"], next["kind"] = p[0], p[1], "dns#resourceRecordSet"
		if aerr := checkRR(zo, next); aerr != nil {
			return nil, aerr
		}
		o.Body = next
		s.recordChange(project, zone, []any{copyMap(next)}, []any{old})
		return copyMap(next), nil
	}
	return nil, errNotFound(key)
}

func (s *Server) recordChange(project, zone string, additions, deletions []any) map[string]any {
	ck := project + "/" + zone
	changes, _ := s.state.Changes[ck].([]any)
	c := map[string]any{"kind": "dns#change", "id": strconv.Itoa(len(changes) + 1), "status": "done", "startTime": now()}
	if len(additions) > 0 {
		c["additions"] = additions
	}
	if len(deletions) > 0 {
		c["deletions"] = deletions
	}
	s.state.Changes[ck] = append(changes, c)
	return c
}

// sameRR compares record sets as a deletion must match: exactly.
func sameRR(a, b map[string]any) bool {
	strip := func(m map[string]any) map[string]any {
		c := copyMap(m)
		delete(c, "kind")
		if ttl, ok := c["ttl"]; ok {
			c["ttl"] = toInt(ttl)
		}
		if v, ok := c["signatureRrdatas"]; ok && len(toSlice(v)) == 0 {
			delete(c, "signatureRrdatas")
		}
		return c
	}
	x, _ := json.Marshal(strip(a))
	y, _ := json.Marshal(strip(b))
	var xa, ya any
	_ = json.Unmarshal(x, &xa)
	_ = json.Unmarshal(y, &ya)
	return reflect.DeepEqual(xa, ya)
}

// applyChange applies deletions then additions atomically: a deletion that
// does not match the current record exactly, or an addition of a record
// that exists, fails the whole change, as in Cloud DNS.
func (s *Server) applyChange(project string, zo *object, body map[string]any) (any, *apiError) {
	zone := zo.Name
	dels, adds := toSlice(body["deletions"]), toSlice(body["additions"])
	gone := map[string]bool{}
	for _, x := range dels {
		rr, _ := x.(map[string]any)
		name, _ := rr["name"].(string)
		typ, _ := rr["type"].(string)
		k := rrKey(project, zone, name, typ)
		o := s.state.Objects[k]
		if o == nil {
			return nil, errNotFound(fmt.Sprintf("entity.change.deletions[%s][%s]", name, typ))
		}
		if !sameRR(o.Body, rr) {
			return nil, &apiError{412, "conditionNotMet", fmt.Sprintf("Precondition not met for 'entity.change.deletions[%s][%s]'", name, typ)}
		}
		gone[k] = true
	}
	for _, x := range adds {
		rr, _ := x.(map[string]any)
		if aerr := checkRR(zo, rr); aerr != nil {
			return nil, aerr
		}
		k := rrKey(project, zone, rr["name"].(string), rr["type"].(string))
		if s.state.Objects[k] != nil && !gone[k] {
			return nil, errAlreadyExists(fmt.Sprintf("entity.change.additions[%s][%s]", rr["name"], rr["type"]))
		}
	}
	for k := range gone {
		delete(s.state.Objects, k)
	}
	for _, x := range adds {
		s.putRR(project, zone, copyMap(x.(map[string]any)))
	}
	return s.recordChange(project, zone, copyAll(adds), copyAll(dels)), nil
}

func copyAll(l []any) []any {
	if l == nil {
		return nil
	}
	return deepCopy(l).([]any)
}
