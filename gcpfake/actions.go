package gcpfake

import (
	"fmt"
	"net/http"
	"strings"
)

type action func(s *Server, c *creq, o *object) (any, *apiError)

var actions map[string]action

func init() {
	actions = map[string]action{
		"instances/setMetadata":                        setMetadata,
		"instances/setTags":                            setTags,
		"instances/stop":                               setStatus("TERMINATED", "stop"),
		"instances/start":                              setStatus("RUNNING", "start"),
		"instances/reset":                              setStatus("RUNNING", "reset"),
		"instances/setMachineType":                     setMachineType,
		"instances/setDeletionProtection":              setDeletionProtection,
		"instances/attachDisk":                         attachDisk,
		"instances/detachDisk":                         detachDisk,
		"instances/setServiceAccount":                  setField("serviceAccounts", func(b map[string]any) any { return []any{b} }),
		"instances/setScheduling":                      setField("scheduling", func(b map[string]any) any { return b }),
		"disks/resize":                                 resizeDisk,
		"instanceGroups/addInstances":                  addInstances,
		"instanceGroups/removeInstances":               removeInstances,
		"instanceGroups/listInstances":                 listInstances,
		"instanceGroups/setNamedPorts":                 setNamedPorts,
		"targetHttpProxies/setUrlMap":                  setRef("urlMap"),
		"forwardingRules/setTarget":                    setRef("target"),
		"backendServices/getHealth":                    getHealth,
		"networkEndpointGroups/attachNetworkEndpoints": attachEndpoints,
		"networkEndpointGroups/detachNetworkEndpoints": detachEndpoints,
		"networkEndpointGroups/listNetworkEndpoints":   listEndpoints,
	}
}

// done answers a change with an operation on the object.
func (s *Server) done(c *creq, o *object, opType string) (any, *apiError) {
	return s.newOp(c.scope, opType, computeBase+c.key(), o.Body["id"], c.fault), nil
}

func post(c *creq) *apiError {
	if c.r.Method != http.MethodPost {
		return &apiError{405, "methodNotAllowed", c.r.Method + " is not allowed on " + c.key() + "/" + c.verb}
	}
	return nil
}

func setMetadata(s *Server, c *creq, o *object) (any, *apiError) {
	if e := post(c); e != nil {
		return nil, e
	}
	md, _ := o.Body["metadata"].(map[string]any)
	if c.body["fingerprint"] != md["fingerprint"] {
		return nil, errConditionNotMet("metadata")
	}
	next := map[string]any{"kind": "compute#metadata", "fingerprint": s.fingerprint()}
	if items, ok := c.body["items"]; ok && len(toSlice(items)) > 0 {
		next["items"] = deepCopy(items)
	}
	o.Body["metadata"] = next
	return s.done(c, o, "setMetadata")
}

func setTags(s *Server, c *creq, o *object) (any, *apiError) {
	if e := post(c); e != nil {
		return nil, e
	}
	tags, _ := o.Body["tags"].(map[string]any)
	if c.body["fingerprint"] != tags["fingerprint"] {
		return nil, errConditionNotMet("tags")
	}
	next := map[string]any{"fingerprint": s.fingerprint()}
	if items, ok := c.body["items"]; ok && len(toSlice(items)) > 0 {
		next["items"] = deepCopy(items)
	}
	o.Body["tags"] = next
	return s.done(c, o, "setTags")
}

func setLabels(s *Server, c *creq, o *object) (any, *apiError) {
	if e := post(c); e != nil {
		return nil, e
	}
	if c.body["labelFingerprint"] != o.Body["labelFingerprint"] {
		return nil, errConditionNotMet("label")
	}
	if l, ok := c.body["labels"].(map[string]any); ok && len(l) > 0 {
		o.Body["labels"] = deepCopy(l)
	} else {
		delete(o.Body, "labels")
	}
	o.Body["labelFingerprint"] = s.fingerprint()
	return s.done(c, o, "setLabels")
}

func setStatus(status, opType string) action {
	return func(s *Server, c *creq, o *object) (any, *apiError) {
		if e := post(c); e != nil {
			return nil, e
		}
		o.Body["status"] = status
		if status == "RUNNING" {
			o.Body["lastStartTimestamp"] = now()
		} else {
			o.Body["lastStopTimestamp"] = now()
		}
		return s.done(c, o, opType)
	}
}

func setMachineType(s *Server, c *creq, o *object) (any, *apiError) {
	if o.Body["status"] != "TERMINATED" {
		return nil, errInvalid("The resource '%s' is not ready: the instance must be stopped to change its machine type.", c.key())
	}
	mt, aerr := s.normRefs(c.project, c.body["machineType"], "machineType")
	if aerr != nil {
		return nil, aerr
	}
	o.Body["machineType"] = mt
	return s.done(c, o, "setMachineType")
}

func setDeletionProtection(s *Server, c *creq, o *object) (any, *apiError) {
	o.Body["deletionProtection"] = c.r.URL.Query().Get("deletionProtection") != "false"
	return s.done(c, o, "setDeletionProtection")
}

func setField(field string, conv func(map[string]any) any) action {
	return func(s *Server, c *creq, o *object) (any, *apiError) {
		o.Body[field] = conv(copyMap(c.body))
		return s.done(c, o, c.verb)
	}
}

func setRef(field string) action {
	return func(s *Server, c *creq, o *object) (any, *apiError) {
		if e := post(c); e != nil {
			return nil, e
		}
		ref, _ := c.body[field].(string)
		if ref == "" {
			return nil, errInvalid("Invalid value for field '%s': ''.", field)
		}
		n, aerr := s.normRefs(c.project, ref, field)
		if aerr != nil {
			return nil, aerr
		}
		o.Body[field] = n
		if _, ok := o.Body["fingerprint"]; ok {
			o.Body["fingerprint"] = s.fingerprint()
		}
		return s.done(c, o, c.verb)
	}
}

func attachDisk(s *Server, c *creq, o *object) (any, *apiError) {
	d, aerr := s.normRefs(c.project, c.body, "resource")
	if aerr != nil {
		return nil, aerr
	}
	disk := d.(map[string]any)
	src, _ := disk["source"].(string)
	dobj := s.state.Objects[strings.TrimPrefix(src, computeBase)]
	if dobj == nil {
		return nil, errInvalid("Invalid value for field 'resource.source': '%s'.", src)
	}
	if len(toSlice(dobj.Body["users"])) > 0 && disk["mode"] != "READ_ONLY" {
		return nil, errInUse(strings.TrimPrefix(src, computeBase), fmt.Sprint(toSlice(dobj.Body["users"])[0]))
	}
	disks := toSlice(o.Body["disks"])
	setDefault(disk, "kind", "compute#attachedDisk")
	setDefault(disk, "type", "PERSISTENT")
	setDefault(disk, "mode", "READ_WRITE")
	setDefault(disk, "deviceName", fmt.Sprintf("persistent-disk-%d", len(disks)))
	setDefault(disk, "autoDelete", false)
	setDefault(disk, "boot", false)
	setDefault(disk, "interface", "SCSI")
	disk["index"] = len(disks)
	disk["diskSizeGb"] = dobj.Body["sizeGb"]
	o.Body["disks"] = append(disks, disk)
	dobj.Body["users"] = append(toSlice(dobj.Body["users"]), computeBase+c.key())
	return s.done(c, o, "attachDisk")
}

func detachDisk(s *Server, c *creq, o *object) (any, *apiError) {
	dev := c.r.URL.Query().Get("deviceName")
	var kept []any
	found := false
	for _, x := range toSlice(o.Body["disks"]) {
		d := x.(map[string]any)
		if d["deviceName"] == dev && !found {
			found = true
			if dobj := s.state.Objects[strings.TrimPrefix(fmt.Sprint(d["source"]), computeBase)]; dobj != nil {
				dobj.Body["users"] = removeAny(toSlice(dobj.Body["users"]), computeBase+c.key())
				if len(toSlice(dobj.Body["users"])) == 0 {
					delete(dobj.Body, "users")
				}
			}
			continue
		}
		kept = append(kept, d)
	}
	if !found {
		return nil, errInvalid("Invalid value for field 'deviceName': '%s'. No attached disk found with that device name.", dev)
	}
	for i, x := range kept {
		x.(map[string]any)["index"] = i
	}
	o.Body["disks"] = kept
	return s.done(c, o, "detachDisk")
}

func resizeDisk(s *Server, c *creq, o *object) (any, *apiError) {
	size := toInt(c.body["sizeGb"])
	if size < toInt(o.Body["sizeGb"]) {
		return nil, errInvalid("Invalid value for field 'sizeGb': '%d'. Disk size cannot be decreased.", size)
	}
	o.Body["sizeGb"] = fmt.Sprint(size)
	return s.done(c, o, "resizeDisk")
}

func instanceRefs(s *Server, c *creq) ([]string, *apiError) {
	var out []string
	for i, x := range toSlice(c.body["instances"]) {
		ref, _ := x.(map[string]any)["instance"].(string)
		n, aerr := s.normRefs(c.project, ref, fmt.Sprintf("instances[%d].instance", i))
		if aerr != nil {
			return nil, aerr
		}
		url, _ := n.(string)
		if !strings.HasPrefix(url, computeBase) {
			return nil, errInvalid("Invalid value for field 'instances[%d].instance': '%s'.", i, ref)
		}
		out = append(out, url)
	}
	return out, nil
}

func addInstances(s *Server, c *creq, o *object) (any, *apiError) {
	refs, aerr := instanceRefs(s, c)
	if aerr != nil {
		return nil, aerr
	}
	for _, ref := range refs {
		inst := s.state.Objects[strings.TrimPrefix(ref, computeBase)]
		if inst == nil || inst.Zone != o.Zone {
			return nil, errInvalid("Invalid value for field 'instances': '%s'. The instance must be in zone %s.", ref, o.Zone)
		}
		for _, m := range o.Members {
			if m == ref {
				return nil, &apiError{400, "memberAlreadyExists", fmt.Sprintf("The resource '%s' is already a member of '%s'", ref, c.key())}
			}
		}
	}
	o.Members = append(o.Members, refs...)
	if _, ok := o.Body["network"]; !ok && len(refs) > 0 {
		inst := s.state.Objects[strings.TrimPrefix(refs[0], computeBase)]
		if nic, ok := toSlice(inst.Body["networkInterfaces"])[0].(map[string]any); ok {
			o.Body["network"] = nic["network"]
			if sub, ok := nic["subnetwork"]; ok {
				o.Body["subnetwork"] = sub
			}
		}
	}
	o.Body["fingerprint"] = s.fingerprint()
	return s.done(c, o, "addInstances")
}

func removeInstances(s *Server, c *creq, o *object) (any, *apiError) {
	refs, aerr := instanceRefs(s, c)
	if aerr != nil {
		return nil, aerr
	}
	for _, ref := range refs {
		o.Members = removeString(o.Members, ref)
	}
	o.Body["fingerprint"] = s.fingerprint()
	return s.done(c, o, "removeInstances")
}

func listInstances(s *Server, c *creq, o *object) (any, *apiError) {
	items := []any{}
	for _, m := range o.Members {
		status := "RUNNING"
		if inst := s.state.Objects[strings.TrimPrefix(m, computeBase)]; inst != nil {
			status = fmt.Sprint(inst.Body["status"])
		}
		if c.body["instanceState"] == "RUNNING" && status != "RUNNING" {
			continue
		}
		items = append(items, map[string]any{"instance": m, "status": status})
	}
	out := map[string]any{"kind": "compute#instanceGroupsListInstances", "id": c.key() + "/listInstances",
		"selfLink": computeBase + c.key() + "/listInstances"}
	if len(items) > 0 {
		out["items"] = items
	}
	return out, nil
}

func setNamedPorts(s *Server, c *creq, o *object) (any, *apiError) {
	if fp, ok := c.body["fingerprint"]; ok && fp != o.Body["fingerprint"] {
		return nil, errConditionNotMet("instance group")
	}
	if np := toSlice(c.body["namedPorts"]); len(np) > 0 {
		o.Body["namedPorts"] = deepCopy(np)
	} else {
		delete(o.Body, "namedPorts")
	}
	o.Body["fingerprint"] = s.fingerprint()
	return s.done(c, o, "setNamedPorts")
}

// getHealth reports every member of the asked group HEALTHY (the fake runs
// no probes).
func getHealth(s *Server, c *creq, o *object) (any, *apiError) {
	ref, _ := c.body["group"].(string)
	g := s.state.Objects[strings.TrimPrefix(ref, computeBase)]
	if g == nil {
		return nil, errInvalid("Invalid value for field 'group': '%s'.", ref)
	}
	var hs []any
	for _, m := range g.Members {
		inst := s.state.Objects[strings.TrimPrefix(m, computeBase)]
		ip := ""
		if inst != nil {
			if nic, ok := toSlice(inst.Body["networkInterfaces"])[0].(map[string]any); ok {
				ip, _ = nic["networkIP"].(string)
			}
		}
		hs = append(hs, map[string]any{"instance": m, "ipAddress": ip, "healthState": "HEALTHY"})
	}
	for _, e := range g.Endpoints {
		hs = append(hs, map[string]any{"ipAddress": e["ipAddress"], "port": e["port"], "healthState": "HEALTHY"})
	}
	return map[string]any{"kind": "compute#backendServiceGroupHealth", "healthStatus": hs}, nil
}

func endpointKey(e map[string]any) string {
	return fmt.Sprintf("%v|%v|%v", e["ipAddress"], toInt(e["port"]), e["instance"])
}

func (s *Server) negEndpoints(c *creq, o *object) ([]map[string]any, *apiError) {
	var out []map[string]any
	for i, x := range toSlice(c.body["networkEndpoints"]) {
		e, _ := x.(map[string]any)
		if e == nil || e["ipAddress"] == nil {
			return nil, errInvalid("Invalid value for field 'networkEndpoints[%d].ipAddress': ''.", i)
		}
		if o.Body["networkEndpointType"] == "NON_GCP_PRIVATE_IP_PORT" && e["instance"] != nil {
			return nil, errInvalid("Invalid value for field 'networkEndpoints[%d].instance': a NON_GCP_PRIVATE_IP_PORT endpoint has no instance.", i)
		}
		if _, ok := e["port"]; !ok {
			if dp, ok := o.Body["defaultPort"]; ok {
				e["port"] = dp
			} else {
				return nil, errInvalid("Invalid value for field 'networkEndpoints[%d].port': no port and the group has no defaultPort.", i)
			}
		}
		e["port"] = toInt(e["port"])
		out = append(out, copyMap(e))
	}
	return out, nil
}

func attachEndpoints(s *Server, c *creq, o *object) (any, *apiError) {
	eps, aerr := s.negEndpoints(c, o)
	if aerr != nil {
		return nil, aerr
	}
	for _, e := range eps {
		for _, have := range o.Endpoints {
			if endpointKey(have) == endpointKey(e) {
				return nil, &apiError{400, "memberAlreadyExists", fmt.Sprintf("The network endpoint %v:%v is already a member of '%s'", e["ipAddress"], e["port"], c.key())}
			}
		}
	}
	o.Endpoints = append(o.Endpoints, eps...)
	return s.done(c, o, "attachNetworkEndpoints")
}

func detachEndpoints(s *Server, c *creq, o *object) (any, *apiError) {
	eps, aerr := s.negEndpoints(c, o)
	if aerr != nil {
		return nil, aerr
	}
	for _, e := range eps {
		var kept []map[string]any
		found := false
		for _, have := range o.Endpoints {
			if endpointKey(have) == endpointKey(e) {
				found = true
				continue
			}
			kept = append(kept, have)
		}
		if !found {
			return nil, errInvalid("The network endpoint %v:%v is not a member of '%s'", e["ipAddress"], e["port"], c.key())
		}
		o.Endpoints = kept
	}
	return s.done(c, o, "detachNetworkEndpoints")
}

func listEndpoints(s *Server, c *creq, o *object) (any, *apiError) {
	items := []any{}
	for _, e := range o.Endpoints {
		items = append(items, map[string]any{"networkEndpoint": copyMap(e)})
	}
	out := map[string]any{"kind": "compute#networkEndpointGroupsListNetworkEndpoints"}
	if len(items) > 0 {
		out["items"] = items
	}
	return out, nil
}
