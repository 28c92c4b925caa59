package inventory

// Config says how to reach vCenter and how to group VMs into apps. It
// follows govc's conventions (GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD,
// GOVC_INSECURE, GOVC_DATACENTER). Password is never serialised.
type Config struct {
	URL        string `json:"url"` // without credentials
	Username   string `json:"username,omitempty"`
	Password   string `json:"-"`
	Insecure   bool   `json:"insecure,omitempty"`
	Datacenter string `json:"datacenter,omitempty"` // empty: every datacenter
}
