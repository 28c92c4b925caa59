package gcpfake

import (
	"fmt"
	"strings"
)

var kinds map[string]kindSpec

func init() {
	kinds = map[string]kindSpec{
		"instances":             {scope: "zonal", apiKind: "compute#instance", fingerprint: true, labels: true, insert: insertInstance, remove: removeInstance},
		"disks":                 {scope: "zonal", apiKind: "compute#disk", labels: true, insert: insertDisk, remove: removeDisk},
		"networks":              {scope: "global", apiKind: "compute#network", insert: insertNetwork},
		"subnetworks":           {scope: "regional", apiKind: "compute#subnetwork", fingerprint: true, insert: insertSubnetwork, remove: removeSubnetwork},
		"firewalls":             {scope: "global", apiKind: "compute#firewall", insert: insertFirewall},
		"instanceGroups":        {scope: "zonal", apiKind: "compute#instanceGroup", fingerprint: true, insert: insertInstanceGroup, view: viewInstanceGroup},
		"healthChecks":          {scope: "global", apiKind: "compute#healthCheck", insert: insertHealthCheck},
		"backendServices":       {scope: "global", apiKind: "compute#backendService", fingerprint: true, insert: insertBackendService},
		"urlMaps":               {scope: "global", apiKind: "compute#urlMap", fingerprint: true, mustFingerprint: true, insert: validateURLMap},
		"targetHttpProxies":     {scope: "global", apiKind: "compute#targetHttpProxy", fingerprint: true},
		"forwardingRules":       {scope: "global", apiKind: "compute#forwardingRule", fingerprint: true, labels: true, insert: insertForwardingRule},
		"addresses":             {scope: "global", apiKind: "compute#address", labels: true, insert: insertAddress, remove: removeAddress, view: viewAddress},
		"networkEndpointGroups": {scope: "zonal", apiKind: "compute#networkEndpointGroup", insert: insertNEG, view: viewNEG},
	}
	kindUpdate["urlMaps"] = func(s *Server, o *object) {}
	registerLBKinds()
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func (s *Server) zoneURL(project, zone string) string {
	return fmt.Sprintf("%sprojects/%s/zones/%s", computeBase, project, zone)
}

func regionOf(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

func insertInstance(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	if mt, _ := b["machineType"].(string); mt == "" {
		return errInvalid("Invalid value for field 'resource.machineType': ''. The referenced machineType resource cannot be found.")
	} else if aerr := checkMachineType(c.scope.Zone, mt); aerr != nil {
		return aerr
	} else if !strings.HasPrefix(mt, computeBase) {
		b["machineType"] = s.zoneURL(c.project, c.scope.Zone) + "/machineTypes/" + lastSegment(mt)
	}
	disks, _ := b["disks"].([]any)
	if len(disks) == 0 {
		return errInvalid("Invalid value for field 'resource.disks': ''. At least one disk must be specified.")
	}
	// Validate everything before creating anything.
	type newDisk struct {
		idx  int
		key  string
		body map[string]any
	}
	var creates []newDisk
	for i, x := range disks {
		d, _ := x.(map[string]any)
		if d == nil {
			return errInvalid("Invalid value for field 'resource.disks[%d]'.", i)
		}
		if src, _ := d["source"].(string); src != "" {
			dk := strings.TrimPrefix(src, computeBase)
			if s.state.Objects[dk] == nil {
				// e.g. a replicated disk whose cutover has not run yet
				return errNotFound(dk)
			}
			if ex := s.state.Objects[dk]; ex != nil && len(toSlice(ex.Body["users"])) > 0 && d["mode"] != "READ_ONLY" {
				return errInvalid("The disk resource '%s' is already being used by '%s'", dk, toSlice(ex.Body["users"])[0])
			}
			continue
		}
		ip, _ := d["initializeParams"].(map[string]any)
		if ip == nil {
			return errInvalid("Invalid value for field 'resource.disks[%d]': neither source nor initializeParams is set.", i)
		}
		if img, _ := ip["sourceImage"].(string); img != "" {
			if aerr := checkImage(fmt.Sprintf("resource.disks[%d].initializeParams.sourceImage", i), img); aerr != nil {
				return aerr
			}
		}
		boot, _ := d["boot"].(bool)
		dname, _ := ip["diskName"].(string)
		if dname == "" {
			dname = o.Name
			if !boot {
				dname = fmt.Sprintf("%s-disk-%d", o.Name, i)
			}
		}
		dk := fmt.Sprintf("projects/%s/zones/%s/disks/%s", c.project, c.scope.Zone, dname)
		if s.state.Objects[dk] != nil {
			return errAlreadyExists(dk)
		}
		db := map[string]any{"name": dname, "sizeGb": "10"}
		if v, ok := ip["diskSizeGb"]; ok {
			db["sizeGb"] = fmt.Sprint(v)
		}
		if v, ok := ip["sourceImage"]; ok {
			db["sourceImage"] = v
		}
		if v, ok := ip["diskType"].(string); ok && v != "" {
			db["type"] = v
		}
		if v, ok := ip["labels"]; ok {
			db["labels"] = v
		}
		creates = append(creates, newDisk{i, dk, db})
	}
	for _, nd := range creates {
		dc := &creq{r: c.r, project: c.project, scope: c.scope, coll: "disks", name: nd.body["name"].(string), body: nd.body}
		dobj := &object{Kind: "disks", Project: c.project, Zone: c.scope.Zone, Name: dc.name, Body: nd.body}
		dobj.Body["kind"] = "compute#disk"
		dobj.Body["id"] = idString(s.nextID())
		dobj.Body["creationTimestamp"] = now()
		dobj.Body["selfLink"] = computeBase + nd.key
		dobj.Body["zone"] = s.zoneURL(c.project, c.scope.Zone)
		dobj.Body["labelFingerprint"] = s.fingerprint()
		if aerr := insertDisk(s, dc, dobj); aerr != nil {
			return aerr
		}
		s.state.Objects[nd.key] = dobj
		d := disks[nd.idx].(map[string]any)
		delete(d, "initializeParams")
		d["source"] = computeBase + nd.key
	}
	self := computeBase + c.key()
	for i, x := range disks {
		d := x.(map[string]any)
		dk := strings.TrimPrefix(d["source"].(string), computeBase)
		disk := s.state.Objects[dk]
		disk.Body["users"] = append(toSlice(disk.Body["users"]), self)
		disk.Body["lastAttachTimestamp"] = now()
		setDefault(d, "kind", "compute#attachedDisk")
		setDefault(d, "type", "PERSISTENT")
		setDefault(d, "mode", "READ_WRITE")
		setDefault(d, "deviceName", fmt.Sprintf("persistent-disk-%d", i))
		setDefault(d, "boot", false)
		setDefault(d, "autoDelete", false)
		setDefault(d, "interface", "SCSI")
		d["index"] = i
		d["diskSizeGb"] = disk.Body["sizeGb"]
	}
	nics, _ := b["networkInterfaces"].([]any)
	for i, x := range nics {
		n, _ := x.(map[string]any)
		if n == nil {
			continue
		}
		setDefault(n, "kind", "compute#networkInterface")
		setDefault(n, "name", fmt.Sprintf("nic%d", i))
		if _, ok := n["network"]; !ok {
			if sub, ok := n["subnetwork"].(string); ok && s.state.Objects[strings.TrimPrefix(sub, computeBase)] != nil {
				n["network"] = s.state.Objects[strings.TrimPrefix(sub, computeBase)].Body["network"]
			} else {
				n["network"] = computeBase + "projects/" + c.project + "/global/networks/default"
			}
		}
		if _, ok := n["subnetwork"]; !ok {
			if strings.HasSuffix(n["network"].(string), "/global/networks/default") {
				n["subnetwork"] = fmt.Sprintf("%sprojects/%s/regions/%s/subnetworks/default", computeBase, c.project, regionOf(c.scope.Zone))
			}
		}
		if s.dp != nil {
			setDefault(n, "networkIP", s.allocLoopback(InstancePool))
		} else {
			setDefault(n, "networkIP", s.allocIP("10.128"))
		}
		setDefault(n, "stackType", "IPV4_ONLY")
		n["fingerprint"] = s.fingerprint()
		for _, y := range toSlice(n["accessConfigs"]) {
			ac, _ := y.(map[string]any)
			if ac == nil {
				continue
			}
			setDefault(ac, "kind", "compute#accessConfig")
			setDefault(ac, "name", "External NAT")
			setDefault(ac, "type", "ONE_TO_ONE_NAT")
			setDefault(ac, "networkTier", "PREMIUM")
			setDefault(ac, "natIP", s.allocIP("34.1"))
		}
	}
	md, _ := b["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		b["metadata"] = md
	}
	md["kind"] = "compute#metadata"
	md["fingerprint"] = s.fingerprint()
	tags, _ := b["tags"].(map[string]any)
	if tags == nil {
		tags = map[string]any{}
		b["tags"] = tags
	}
	tags["fingerprint"] = s.fingerprint()
	setDefault(b, "scheduling", map[string]any{"onHostMaintenance": "MIGRATE", "automaticRestart": true,
		"preemptible": false, "provisioningModel": "STANDARD"})
	setDefault(b, "canIpForward", false)
	setDefault(b, "deletionProtection", false)
	b["status"] = "RUNNING"
	b["cpuPlatform"] = "Intel Broadwell"
	b["startRestricted"] = false
	b["lastStartTimestamp"] = now()
	return nil
}

func toSlice(v any) []any {
	l, _ := v.([]any)
	return l
}

// allocIP hands out a unique address under prefix ("10.128" or "34.1").
func (s *Server) allocIP(prefix string) string {
	s.state.Seq++
	n := s.state.Seq
	if strings.Count(prefix, ".") == 1 {
		return fmt.Sprintf("%s.%d.%d", prefix, (n/250)%250, n%250+2)
	}
	return fmt.Sprintf("%s.%d", prefix, n%250+2)
}

func removeInstance(s *Server, c *creq, o *object) *apiError {
	if dp, _ := o.Body["deletionProtection"].(bool); dp {
		return errInvalid("Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'.")
	}
	self := computeBase + c.key()
	for _, g := range s.state.Objects {
		if g.Kind == "instanceGroups" {
			g.Members = removeString(g.Members, self)
		}
	}
	for _, x := range toSlice(o.Body["disks"]) {
		d, _ := x.(map[string]any)
		dk := strings.TrimPrefix(fmt.Sprint(d["source"]), computeBase)
		disk := s.state.Objects[dk]
		if disk == nil {
			continue
		}
		disk.Body["users"] = removeAny(toSlice(disk.Body["users"]), self)
		if len(toSlice(disk.Body["users"])) == 0 {
			delete(disk.Body, "users")
		}
		if ad, _ := d["autoDelete"].(bool); ad {
			delete(s.state.Objects, dk)
		}
	}
	return nil
}

func removeString(l []string, v string) []string {
	out := l[:0]
	for _, x := range l {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func removeAny(l []any, v string) []any {
	var out []any
	for _, x := range l {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func insertDisk(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	if t, _ := b["type"].(string); t == "" {
		b["type"] = s.zoneURL(c.project, c.scope.Zone) + "/diskTypes/pd-standard"
	} else if !strings.HasPrefix(t, computeBase) {
		b["type"] = s.zoneURL(c.project, c.scope.Zone) + "/diskTypes/" + t
	}
	if _, ok := b["sizeGb"]; !ok {
		b["sizeGb"] = "10"
	}
	b["sizeGb"] = fmt.Sprint(b["sizeGb"])
	if img, ok := b["sourceImage"].(string); ok {
		if aerr := checkImage("resource.sourceImage", img); aerr != nil {
			return aerr
		}
		b["sourceImageId"] = idString(2000 + uint64(len(lastSegment(img))))
	}
	setDefault(b, "physicalBlockSizeBytes", "4096")
	b["status"] = "READY"
	return nil
}

func removeDisk(s *Server, c *creq, o *object) *apiError {
	if users := toSlice(o.Body["users"]); len(users) > 0 {
		return errInUse(c.key(), fmt.Sprint(users[0]))
	}
	return nil
}

func insertNetwork(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	setDefault(b, "autoCreateSubnetworks", true)
	setDefault(b, "routingConfig", map[string]any{"routingMode": "REGIONAL"})
	setDefault(b, "mtu", 1460)
	setDefault(b, "networkFirewallPolicyEnforcementOrder", "AFTER_CLASSIC_FIREWALL")
	return nil
}

func insertSubnetwork(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	cidr, _ := b["ipCidrRange"].(string)
	if cidr == "" {
		return errInvalid("Invalid value for field 'resource.ipCidrRange': ''. Invalid IPCidrRange.")
	}
	if _, ok := b["network"].(string); !ok {
		return errInvalid("Invalid value for field 'resource.network': ''. The network resource is required.")
	}
	if i := strings.LastIndex(cidr, "."); i > 0 {
		setDefault(b, "gatewayAddress", cidr[:i]+".1")
	}
	setDefault(b, "privateIpGoogleAccess", false)
	setDefault(b, "stackType", "IPV4_ONLY")
	setDefault(b, "purpose", "PRIVATE")
	netKey := strings.TrimPrefix(b["network"].(string), computeBase)
	if n := s.state.Objects[netKey]; n != nil {
		n.Body["subnetworks"] = append(toSlice(n.Body["subnetworks"]), computeBase+c.key())
	}
	return nil
}

func insertFirewall(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	setDefault(b, "network", computeBase+"projects/"+c.project+"/global/networks/default")
	setDefault(b, "priority", 1000)
	setDefault(b, "direction", "INGRESS")
	setDefault(b, "disabled", false)
	if b["direction"] == "INGRESS" {
		if _, ok := b["sourceRanges"]; !ok {
			if _, tags := b["sourceTags"]; !tags {
				if _, sa := b["sourceServiceAccounts"]; !sa {
					b["sourceRanges"] = []any{"0.0.0.0/0"}
				}
			}
		}
	}
	return nil
}

func insertInstanceGroup(s *Server, c *creq, o *object) *apiError { return nil }

func viewInstanceGroup(s *Server, o *object) map[string]any {
	b := copyMap(o.Body)
	b["size"] = len(o.Members)
	return b
}

func insertHealthCheck(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	setDefault(b, "checkIntervalSec", 5)
	setDefault(b, "timeoutSec", 5)
	setDefault(b, "healthyThreshold", 2)
	setDefault(b, "unhealthyThreshold", 2)
	if _, ok := b["type"]; !ok {
		for _, t := range []string{"http", "https", "tcp", "ssl", "http2", "grpc"} {
			if _, ok := b[t+"HealthCheck"]; ok {
				b["type"] = strings.ToUpper(t)
			}
		}
	}
	return nil
}

func insertBackendService(s *Server, c *creq, o *object) *apiError {
	for i, x := range toSlice(o.Body["backends"]) {
		be, _ := x.(map[string]any)
		if g, _ := be["group"].(string); g == "" {
			return errInvalid("Invalid value for field 'resource.backends[%d].group': ''. The group is required.", i)
		}
	}
	return nil
}

func validateURLMap(s *Server, c *creq, o *object) *apiError {
	if ra, ok := o.Body["defaultRouteAction"].(map[string]any); ok {
		for i, x := range toSlice(ra["weightedBackendServices"]) {
			w, _ := x.(map[string]any)
			if wt := toInt(w["weight"]); wt < 0 || wt > 1000 {
				return errInvalid("Invalid value for field 'resource.defaultRouteAction.weightedBackendServices[%d].weight': '%d'. Must be between 0 and 1000.", i, wt)
			}
		}
	}
	return nil
}

func insertForwardingRule(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	ip, _ := b["IPAddress"].(string)
	if strings.HasPrefix(ip, computeBase) {
		a := s.state.Objects[strings.TrimPrefix(ip, computeBase)]
		if a == nil {
			return errNotFound(strings.TrimPrefix(ip, computeBase))
		}
		b["IPAddress"] = a.Body["address"]
	} else if ip == "" && s.dp != nil {
		b["IPAddress"] = s.allocLoopback(LBPool)
	} else if ip == "" {
		b["IPAddress"] = s.allocIP("34.120")
	}
	setDefault(b, "IPProtocol", "TCP")
	setDefault(b, "loadBalancingScheme", "EXTERNAL")
	setDefault(b, "networkTier", "PREMIUM")
	return nil
}

func insertAddress(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	if s.dp != nil {
		setDefault(b, "address", s.allocLoopback(LBPool))
	} else {
		setDefault(b, "address", s.allocIP("34.149"))
	}
	setDefault(b, "addressType", "EXTERNAL")
	setDefault(b, "networkTier", "PREMIUM")
	setDefault(b, "ipVersion", "IPV4")
	return nil
}

// addressUsers are the forwarding rules that use an address's IP.
func (s *Server) addressUsers(o *object) []any {
	var users []any
	for k, fr := range s.state.Objects {
		if fr.Kind == "forwardingRules" && fr.Project == o.Project && fr.Body["IPAddress"] == o.Body["address"] {
			users = append(users, computeBase+k)
		}
	}
	return users
}

func viewAddress(s *Server, o *object) map[string]any {
	b := copyMap(o.Body)
	b["status"] = "RESERVED"
	if users := s.addressUsers(o); len(users) > 0 {
		b["status"] = "IN_USE"
		b["users"] = users
	}
	return b
}

func removeAddress(s *Server, c *creq, o *object) *apiError {
	if users := s.addressUsers(o); len(users) > 0 {
		return errInUse(c.key(), fmt.Sprint(users[0]))
	}
	return nil
}

func insertNEG(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	setDefault(b, "networkEndpointType", "GCE_VM_IP_PORT")
	if b["networkEndpointType"] == "GCE_VM_IP_PORT" || b["networkEndpointType"] == "NON_GCP_PRIVATE_IP_PORT" {
		setDefault(b, "network", computeBase+"projects/"+c.project+"/global/networks/default")
	}
	return nil
}

func viewNEG(s *Server, o *object) map[string]any {
	b := copyMap(o.Body)
	b["size"] = len(o.Endpoints)
	return b
}

func removeSubnetwork(s *Server, c *creq, o *object) *apiError {
	if n := s.state.Objects[strings.TrimPrefix(fmt.Sprint(o.Body["network"]), computeBase)]; n != nil {
		n.Body["subnetworks"] = removeAny(toSlice(n.Body["subnetworks"]), computeBase+c.key())
		if len(toSlice(n.Body["subnetworks"])) == 0 {
			delete(n.Body, "subnetworks")
		}
	}
	return nil
}
