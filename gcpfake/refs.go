package gcpfake

import (
	"fmt"
	"strings"
)

var googleComputeBases = []string{
	"https://www.googleapis.com/compute/v1/",
	"https://compute.googleapis.com/compute/v1/",
	"https://www.googleapis.com/compute/beta/",
	"https://compute.googleapis.com/compute/beta/",
}

// noRefKeys hold free text, never resource references.
var noRefKeys = map[string]bool{"description": true, "metadata": true, "labels": true, "name": true,
	"items": false, "requestPath": true, "host": true}

// normRefs rewrites every compute reference in a request body to the full
// selfLink form the real API returns, and rejects references to resources
// of a stored kind that do not exist, and URLs of hosts that are neither
// Google's nor the fake's.
func (s *Server) normRefs(project string, v any, field string) (any, *apiError) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if noRefKeys[k] {
				out[k] = deepCopy(x)
				continue
			}
			n, aerr := s.normRefs(project, x, field+"."+k)
			if aerr != nil {
				return nil, aerr
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			n, aerr := s.normRefs(project, x, fmt.Sprintf("%s[%d]", field, i))
			if aerr != nil {
				return nil, aerr
			}
			out[i] = n
		}
		return out, nil
	case string:
		rel, isRef, aerr := parseRef(project, t, field, s.ComputeEndpoint())
		if aerr != nil || !isRef {
			return t, aerr
		}
		if coll, ok := refCollection(rel); ok {
			if _, stored := kinds[coll]; stored && s.state.Objects[rel] == nil {
				return nil, errNotFound(rel)
			}
		}
		return computeBase + rel, nil
	}
	return v, nil
}

// parseRef recognises a compute reference: a full URL, "projects/…", or a
// project-relative "global/…", "zones/…", "regions/…" path.
//
// The provider builds references from its compute_custom_endpoint, so the
// fake's own endpoint counts as Google's; any other host is refused.
func parseRef(project, s, field, ownBase string) (rel string, ok bool, aerr *apiError) {
	switch {
	case hasPrefixAny(s, googleComputeBases...) || strings.HasPrefix(s, ownBase):
		rel = s[strings.Index(s, "/projects/")+1:]
	case hasPrefixAny(s, "http://", "https://"):
		if strings.Contains(s, "/compute/v1/projects/") {
			return "", false, errInvalid("Invalid value for field '%s': '%s'. The URL is malformed.", field, s)
		}
		return "", false, nil
	case strings.HasPrefix(s, "projects/"):
		rel = s
	case hasPrefixAny(s, "global/", "zones/", "regions/"):
		rel = "projects/" + project + "/" + s
	default:
		return "", false, nil
	}
	p := strings.Split(rel, "/")
	if len(p) < 4 || p[0] != "projects" || p[1] == "" {
		return "", false, nil
	}
	switch p[2] {
	case "global", "zones", "regions":
	default:
		return "", false, nil
	}
	for _, seg := range p {
		if seg == "" {
			return "", false, errInvalid("Invalid value for field '%s': '%s'. The URL is malformed.", field, s)
		}
	}
	return rel, true, nil
}

// refCollection returns the collection of a resource reference.
func refCollection(rel string) (string, bool) {
	p := strings.Split(rel, "/")
	switch {
	case p[2] == "global" && len(p) == 5:
		return p[3], true
	case (p[2] == "zones" || p[2] == "regions") && len(p) == 6:
		return p[4], true
	}
	return "", false
}

// defaultRegions get a "default" auto-mode subnetwork in every project.
var defaultRegions = []string{
	"us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west2",
	"europe-west3", "europe-west4", "asia-east1", "asia-southeast1", "australia-southeast1",
	"northamerica-northeast1", "southamerica-east1",
}

// ensureProject gives a project seen for the first time the "default"
// network a new real project has. Called with s.mu held.
func (s *Server) ensureProject(project string) {
	key := "projects/" + project + "/global/networks/default"
	if s.state.Seeded == nil {
		s.state.Seeded = map[string]bool{}
	}
	if s.state.Seeded[project] {
		return
	}
	s.state.Seeded[project] = true
	net := &object{Kind: "networks", Project: project, Name: "default", Body: map[string]any{
		"kind": "compute#network", "id": idString(s.nextID()), "name": "default",
		"description":           "Default network for the project",
		"autoCreateSubnetworks": true, "creationTimestamp": now(),
		"routingConfig": map[string]any{"routingMode": "REGIONAL"}, "mtu": 1460,
		"networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL",
		"selfLink":                              computeBase + key,
	}}
	var subnets []any
	for i, region := range defaultRegions {
		sk := fmt.Sprintf("projects/%s/regions/%s/subnetworks/default", project, region)
		s.state.Objects[sk] = &object{Kind: "subnetworks", Project: project, Region: region, Name: "default",
			Body: map[string]any{
				"kind": "compute#subnetwork", "id": idString(s.nextID()), "name": "default",
				"creationTimestamp": now(), "network": computeBase + key,
				"ipCidrRange": fmt.Sprintf("10.%d.0.0/20", 128+i), "gatewayAddress": fmt.Sprintf("10.%d.0.1", 128+i),
				"region":                computeBase + "projects/" + project + "/regions/" + region,
				"privateIpGoogleAccess": false, "stackType": "IPV4_ONLY", "purpose": "PRIVATE",
				"fingerprint": s.fingerprint(), "selfLink": computeBase + sk,
			}}
		subnets = append(subnets, computeBase+sk)
	}
	net.Body["subnetworks"] = subnets
	s.state.Objects[key] = net
}

// synthetic answers reads of collections the fake does not store: images,
// machine types, disk types, zones, regions, the project.
func (s *Server) synthetic(c *creq) (any, *apiError) {
	self := computeBase + c.key()
	if out, aerr, ok := s.catalogRead(c); ok {
		return out, aerr
	}
	switch c.coll {
	case "projects":
		return map[string]any{"kind": "compute#project", "name": c.project, "id": idString(1000 + uint64(len(c.project))),
			"selfLink": computeBase + "projects/" + c.project, "commonInstanceMetadata": map[string]any{"kind": "compute#metadata", "fingerprint": "gcpfake="},
			"defaultServiceAccount": "123456789-compute@developer.gserviceaccount.com", "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS"}, nil
	case "zones", "regions":
		if c.name == "" {
			return map[string]any{"kind": "compute#" + strings.TrimSuffix(c.coll, "s") + "List", "items": []any{}}, nil
		}
		b := map[string]any{"kind": "compute#" + strings.TrimSuffix(c.coll, "s"), "name": c.name, "status": "UP",
			"selfLink": computeBase + "projects/" + c.project + "/" + c.coll + "/" + c.name}
		if c.coll == "zones" {
			b["region"] = computeBase + "projects/" + c.project + "/regions/" + c.name[:strings.LastIndex(c.name, "-")]
		}
		return b, nil
	case "images":
		name := c.name
		if name == "family" && c.verb != "" {
			name = c.verb + "-v20250101"
			self = computeBase + c.collPath() + "/" + name
		}
		if name == "" {
			return map[string]any{"kind": "compute#imageList"}, nil
		}
		return map[string]any{"kind": "compute#image", "name": name, "id": idString(2000 + uint64(len(name))),
			"status": "READY", "diskSizeGb": "10", "archiveSizeBytes": "1000000000", "family": familyOf(name),
			"selfLink": self, "sourceType": "RAW"}, nil
	case "machineTypes":
		if c.name == "" {
			return map[string]any{"kind": "compute#machineTypeList"}, nil
		}
		return map[string]any{"kind": "compute#machineType", "name": c.name, "id": idString(3000 + uint64(len(c.name))),
			"guestCpus": 2, "memoryMb": 4096, "zone": c.scope.Zone, "selfLink": self, "isSharedCpu": false}, nil
	case "diskTypes":
		if c.name == "" {
			return map[string]any{"kind": "compute#diskTypeList"}, nil
		}
		return map[string]any{"kind": "compute#diskType", "name": c.name, "defaultDiskSizeGb": "10",
			"validDiskSize": "10GB-65536GB", "zone": c.scope.Zone, "selfLink": self}, nil
	}
	return nil, errNotFound(c.collPath())
}

func familyOf(image string) string {
	if i := strings.LastIndex(image, "-v"); i > 0 {
		return image[:i]
	}
	return image
}
