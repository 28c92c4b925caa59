package gcpfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// creq is one parsed compute request.
type creq struct {
	r       *http.Request
	project string
	scope   opScope
	coll    string
	name    string
	verb    string
	extra   []string // path segments after the verb
	body    map[string]any
	fault   *Fault
}

func (c *creq) key() string { return c.scope.path() + "/" + c.coll + "/" + c.name }

func (c *creq) collPath() string { return c.scope.path() + "/" + c.coll }

// kindSpec describes one stored compute collection.
type kindSpec struct {
	scope       string // global, zonal, regional
	apiKind     string // compute#instance
	fingerprint bool   // has a top-level fingerprint checked on updates
	// mustFingerprint: updates without the current fingerprint fail (URL
	// maps: ferry's weight shifts rely on it).
	mustFingerprint bool
	labels          bool
	insert          func(s *Server, c *creq, o *object) *apiError
	remove          func(s *Server, c *creq, o *object) *apiError
	view            func(s *Server, o *object) map[string]any
	// regional: a global kind that also has a regional variant under
	// regions/R/ (backend services, URL maps, proxies; see lbkinds.go).
	regional bool
	// check refuses a PUT or PATCH whose result GCP refuses (body after
	// the merge, references normalised).
	check func(s *Server, c *creq, body map[string]any) *apiError
}

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (s *Server) serveCompute(w http.ResponseWriter, r *http.Request) {
	c, aerr := parseCompute(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, errInvalid("cannot read request body: %v", err))
			return
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &c.body); err != nil {
				writeError(w, &apiError{400, "parseError", "This API does not support parsing form-encoded input or the JSON is malformed: " + err.Error()})
				return
			}
		}
	}
	if c.body == nil {
		c.body = map[string]any{}
	}
	c.fault = faultFrom(r)
	if c.coll == "operations" && c.verb == "wait" {
		s.waitOp(w, c)
		return
	}
	if r.Method != http.MethodGet && s.dp != nil {
		defer s.reconcile() // runs after the unlock below
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureProject(c.project)
	out, aerr := s.dispatchCompute(c)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.Method != http.MethodGet {
		s.save()
	}
	writeJSON(w, http.StatusOK, out)
}

func parseCompute(r *http.Request) (*creq, *apiError) {
	rel := strings.TrimPrefix(r.URL.Path, "/compute/v1/")
	p := splitPath(rel)
	if len(p) < 2 || p[0] != "projects" {
		return nil, errNotFound(rel)
	}
	c := &creq{r: r, project: p[1], scope: opScope{Project: p[1]}}
	if len(p) == 2 {
		c.coll = "projects"
		return c, nil
	}
	var rest []string
	switch p[2] {
	case "global":
		rest = p[3:]
	case "zones", "regions":
		if len(p) < 4 {
			return nil, errNotFound(rel)
		}
		if p[2] == "zones" {
			c.scope.Zone = p[3]
		} else {
			c.scope.Region = p[3]
		}
		if len(p) == 4 {
			c.coll = p[2]
			c.name = p[3]
			return c, nil
		}
		rest = p[4:]
	case "targetHttpProxies", "targetHttpsProxies":
		// setUrlMap (and setSslCertificates) live at
		// projects/P/targetHttp[s]Proxies/N/VERB.
		rest = p[2:]
	case "aggregated":
		if len(p) != 4 {
			return nil, errNotFound(rel)
		}
		c.coll, c.verb = p[3], "aggregated"
		return c, nil
	default:
		if len(p) == 3 {
			c.coll = p[2] // zones, regions lists
			return c, nil
		}
		return nil, errNotFound(rel)
	}
	if len(rest) == 0 {
		return nil, errNotFound(rel)
	}
	c.coll = rest[0]
	if len(rest) > 1 {
		c.name = rest[1]
	}
	if len(rest) > 2 {
		c.verb = rest[2]
		c.extra = rest[3:]
	}
	return c, nil
}

func (s *Server) dispatchCompute(c *creq) (any, *apiError) {
	if c.coll == "operations" {
		return s.serveOperation(c)
	}
	if c.verb == "aggregated" {
		if c.coll == "machineTypes" {
			return s.aggregatedMachineTypes(c), nil
		}
		return s.aggregatedList(c)
	}
	spec, ok := kinds[c.coll]
	if !ok {
		if c.r.Method == http.MethodGet {
			return s.synthetic(c)
		}
		return nil, errNotFound(c.collPath())
	}
	want := "global"
	if c.scope.Zone != "" {
		want = "zonal"
	} else if c.scope.Region != "" {
		want = "regional"
	}
	if spec.scope != want && !(spec.regional && want == "regional") {
		return nil, errNotFound(c.collPath())
	}
	// An injected operation error refuses the change but still answers
	// with an operation, as GCE does when the work fails after acceptance.
	if c.fault != nil && c.fault.OpError != "" && c.r.Method != http.MethodGet && c.verb != "listInstances" && c.verb != "listNetworkEndpoints" {
		name := c.name
		if name == "" {
			name, _ = c.body["name"].(string)
		}
		return s.newOp(c.scope, opTypeFor(c), computeBase+c.collPath()+"/"+name, nil, c.fault), nil
	}
	switch {
	case c.name == "" && c.r.Method == http.MethodGet:
		return s.list(c, spec), nil
	case c.name == "" && c.r.Method == http.MethodPost:
		if aerr := checkScope(c); aerr != nil {
			return nil, aerr
		}
		return s.insert(c, spec)
	case c.verb != "":
		o := s.state.Objects[c.key()]
		if o == nil {
			return nil, errNotFound(c.key())
		}
		act, ok := actions[c.coll+"/"+c.verb]
		if !ok && c.verb == "setLabels" && spec.labels {
			act = setLabels
		}
		if act == nil {
			return nil, errNotFound(c.key() + "/" + c.verb)
		}
		return act(s, c, o)
	}
	o := s.state.Objects[c.key()]
	if o == nil {
		return nil, errNotFound(c.key())
	}
	switch c.r.Method {
	case http.MethodGet:
		return s.view(spec, o), nil
	case http.MethodDelete:
		return s.remove(c, spec, o)
	case http.MethodPut, http.MethodPatch:
		return s.update(c, spec, o)
	}
	return nil, &apiError{405, "methodNotAllowed", c.r.Method + " is not allowed on " + c.key()}
}

func opTypeFor(c *creq) string {
	switch {
	case c.verb != "":
		return c.verb
	case c.r.Method == http.MethodPost:
		return "insert"
	case c.r.Method == http.MethodDelete:
		return "delete"
	case c.r.Method == http.MethodPatch:
		return "patch"
	}
	return "update"
}

func (s *Server) view(spec kindSpec, o *object) map[string]any {
	if spec.view != nil {
		return spec.view(s, o)
	}
	return copyMap(o.Body)
}

func (s *Server) list(c *creq, spec kindSpec) map[string]any {
	prefix := c.collPath() + "/"
	var keys []string
	for k := range s.state.Objects {
		if strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], "/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	items := []any{}
	filter := parseFilter(c.r.URL.Query().Get("filter"))
	for _, k := range keys {
		v := s.view(spec, s.state.Objects[k])
		if filter.match(v) {
			items = append(items, v)
		}
	}
	out := map[string]any{
		"kind":     strings.TrimSuffix(spec.apiKind, "") + "List",
		"id":       c.collPath(),
		"selfLink": computeBase + c.collPath(),
	}
	if len(items) > 0 {
		out["items"] = items
	}
	return out
}

func (s *Server) aggregatedList(c *creq) (any, *apiError) {
	spec, ok := kinds[c.coll]
	if !ok {
		return nil, errNotFound("projects/" + c.project + "/aggregated/" + c.coll)
	}
	groups := map[string][]any{}
	var keys []string
	for k, o := range s.state.Objects {
		if o.Project == c.project && o.Kind == c.coll {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	filter := parseFilter(c.r.URL.Query().Get("filter"))
	for _, k := range keys {
		o := s.state.Objects[k]
		scope := "global"
		if o.Zone != "" {
			scope = "zones/" + o.Zone
		} else if o.Region != "" {
			scope = "regions/" + o.Region
		}
		if v := s.view(spec, o); filter.match(v) {
			groups[scope] = append(groups[scope], v)
		}
	}
	items := map[string]any{}
	for scope, l := range groups {
		items[scope] = map[string]any{c.coll: l}
	}
	return map[string]any{
		"kind":     spec.apiKind + "AggregatedList",
		"id":       "projects/" + c.project + "/aggregated/" + c.coll,
		"items":    items,
		"selfLink": computeBase + "projects/" + c.project + "/aggregated/" + c.coll,
	}, nil
}

// filter supports the `name = "x"` / `name eq x` forms clients send.
type filter struct{ field, value string }

var filterRE = regexp.MustCompile(`^\(?\s*([a-zA-Z.]+)\s*(?:=|eq)\s*"?([^"()]*?)"?\s*\)?$`)

func parseFilter(f string) filter {
	m := filterRE.FindStringSubmatch(strings.TrimSpace(f))
	if m == nil {
		return filter{}
	}
	return filter{m[1], m[2]}
}

func (f filter) match(v map[string]any) bool {
	if f.field == "" {
		return true
	}
	got := fmt.Sprint(v[f.field])
	if ok, err := regexp.MatchString("^(?:"+f.value+")$", got); err == nil {
		return ok
	}
	return got == f.value
}

func (s *Server) insert(c *creq, spec kindSpec) (any, *apiError) {
	name, _ := c.body["name"].(string)
	if !nameRE.MatchString(name) {
		return nil, errInvalid("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", name)
	}
	c.name = name
	if s.state.Objects[c.key()] != nil {
		return nil, errAlreadyExists(c.key())
	}
	body, aerr := s.normRefs(c.project, c.body, "resource")
	if aerr != nil {
		return nil, aerr
	}
	o := &object{Kind: c.coll, Project: c.project, Zone: c.scope.Zone, Region: c.scope.Region, Name: name,
		Body: body.(map[string]any)}
	pruneEmpty(o.Body)
	id := s.nextID()
	o.Body["kind"] = spec.apiKind
	o.Body["id"] = idString(id)
	o.Body["name"] = name
	o.Body["creationTimestamp"] = now()
	o.Body["selfLink"] = computeBase + c.key()
	if c.scope.Zone != "" {
		o.Body["zone"] = fmt.Sprintf("%sprojects/%s/zones/%s", computeBase, c.project, c.scope.Zone)
	}
	if c.scope.Region != "" {
		o.Body["region"] = fmt.Sprintf("%sprojects/%s/regions/%s", computeBase, c.project, c.scope.Region)
	}
	if spec.fingerprint {
		o.Body["fingerprint"] = s.fingerprint()
	}
	if spec.labels {
		o.Body["labelFingerprint"] = s.fingerprint()
	}
	if spec.insert != nil {
		if aerr := spec.insert(s, c, o); aerr != nil {
			return nil, aerr
		}
	}
	s.state.Objects[c.key()] = o
	return s.newOp(c.scope, "insert", computeBase+c.key(), idString(id), c.fault), nil
}

func (s *Server) remove(c *creq, spec kindSpec, o *object) (any, *apiError) {
	self := computeBase + c.key()
	if user := s.userOf(self, c.key()); user != "" {
		return nil, errInUse(c.key(), user)
	}
	if spec.remove != nil {
		if aerr := spec.remove(s, c, o); aerr != nil {
			return nil, aerr
		}
	}
	delete(s.state.Objects, c.key())
	return s.newOp(c.scope, "delete", self, o.Body["id"], c.fault), nil
}

// userOf returns the selfLink of a resource that references self, if any.
func (s *Server) userOf(self, skipKey string) string {
	var keys []string
	for k, o := range s.state.Objects {
		if k != skipKey && strings.HasPrefix(k, "projects/") && refersTo(o.Body, self, "") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	return keys[0]
}

// backRefKeys list what a resource is used by, not what it uses.
var backRefKeys = map[string]bool{"selfLink": true, "users": true, "subnetworks": true}

func refersTo(v any, self, key string) bool {
	switch t := v.(type) {
	case string:
		return t == self && !backRefKeys[key]
	case map[string]any:
		for k, x := range t {
			if backRefKeys[k] {
				continue
			}
			if refersTo(x, self, k) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if refersTo(x, self, key) {
				return true
			}
		}
	}
	return false
}

// serverFields survive PUT and PATCH unchanged.
var serverFields = []string{"kind", "id", "name", "creationTimestamp", "selfLink", "zone", "region"}

func (s *Server) update(c *creq, spec kindSpec, o *object) (any, *apiError) {
	if spec.fingerprint {
		fp, has := c.body["fingerprint"].(string)
		if (spec.mustFingerprint && !has) || (has && fp != o.Body["fingerprint"]) {
			return nil, errConditionNotMet(kindWord(c.key()))
		}
	}
	var next map[string]any
	if c.r.Method == http.MethodPatch {
		next = mergePatch(copyMap(o.Body), c.body)
	} else {
		next = copyMap(c.body)
		for _, k := range []string{"labelFingerprint", "labels"} {
			if _, ok := next[k]; !ok && o.Body[k] != nil {
				next[k] = o.Body[k]
			}
		}
	}
	normed, aerr := s.normRefs(c.project, next, "resource")
	if aerr != nil {
		return nil, aerr
	}
	next = normed.(map[string]any)
	pruneEmpty(next)
	if spec.check != nil {
		if aerr := spec.check(s, c, next); aerr != nil {
			return nil, aerr
		}
	}
	for _, k := range serverFields {
		if v, ok := o.Body[k]; ok {
			next[k] = v
		}
	}
	if spec.fingerprint {
		next["fingerprint"] = s.fingerprint()
	}
	o.Body = next
	if k, ok := kindUpdate[c.coll]; ok {
		k(s, o)
	}
	return s.newOp(c.scope, opTypeFor(c), computeBase+c.key(), o.Body["id"], c.fault), nil
}

// kindUpdate re-derives server-side fields after an update.
var kindUpdate = map[string]func(s *Server, o *object){}

// mergePatch applies a JSON merge patch: objects merge, everything else
// replaces, null deletes.
func mergePatch(dst, patch map[string]any) map[string]any {
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergePatch(dm, pm)
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
	return dst
}

func (s *Server) serveOperation(c *creq) (any, *apiError) {
	key := c.collPath() + "/" + c.name
	switch {
	case c.name == "" && c.r.Method == http.MethodGet:
		items := []any{}
		var keys []string
		for k := range s.state.Ops {
			if strings.HasPrefix(k, c.collPath()+"/") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			items = append(items, s.opView(s.state.Ops[k]))
		}
		return map[string]any{"kind": "compute#operationList", "id": c.collPath(), "items": items,
			"selfLink": computeBase + c.collPath()}, nil
	case c.r.Method == http.MethodGet:
		return s.pollOp(key, false)
	case c.r.Method == http.MethodDelete:
		if s.state.Ops[key] == nil {
			return nil, errNotFound(key)
		}
		delete(s.state.Ops, key)
		return map[string]any{}, nil
	}
	return nil, errNotFound(key)
}

// waitOp serves operations/NAME/wait: it returns when the operation is
// DONE, or after at most 30 s as the real one does after 2 minutes.
func (s *Server) waitOp(w http.ResponseWriter, c *creq) {
	key := c.collPath() + "/" + c.name
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		out, aerr := s.pollOp(key, true)
		s.mu.Unlock()
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		if out["status"] == "DONE" || time.Now().After(deadline) {
			writeJSON(w, http.StatusOK, out)
			return
		}
		select {
		case <-c.r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
