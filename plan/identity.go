package plan

import (
	"crypto/rsa"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"

	"github.com/ferrymigrate/ferry/textsafe"
)

// Who may act on an app, and how the worker recognises them. The plan
// lists each person's SSH public keys (person blocks); approvals and
// operator actions are signed with one of those keys and verified by the
// worker against the reviewed plan, never against what a sender claims.

type identityConf struct {
	AllowUnverified *bool `hcl:"allow_unverified,optional"`
}

type personConf struct {
	Identity string   `hcl:"identity,label"`
	Keys     []string `hcl:"keys"`
}

// Gates are the approval gates an approvers block names.
var Gates = []string{"plan", "cutover", "decommission"}

// NormalizeIdentity is the form in which ferry compares identities
// (approvers, operators, persons, owners, and whoever signs an action):
// surrounding whitespace trimmed, lower case.
func NormalizeIdentity(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// identityProblem says why s cannot name a person, or "".
func identityProblem(s string) string {
	n := NormalizeIdentity(s)
	switch {
	case n == "":
		return "an identity cannot be empty"
	case textsafe.Line(n) != n:
		return fmt.Sprintf("identity %s contains control or invisible characters", textsafe.Line(strings.TrimSpace(s)))
	}
	return ""
}

// identRef is one identity as written in the plan, with where.
type identRef struct {
	ID    string // normalised
	Range *hcl.Range
}

// parsePeople decodes the person blocks: normalised identity -> canonical
// authorized_keys lines.
func parsePeople(cfg *Config) (map[string][]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	people := map[string][]string{}
	firstAt := map[string]hcl.Range{}
	keyOwner := map[string]string{} // key blob -> identity
	blocks := blocksOf(cfg.body, "person")
	for i, pc := range cfg.Persons {
		var b *hclsyntax.Block
		if i < len(blocks) {
			b = blocks[i]
		}
		def := blockRange(b)
		var labelRange *hcl.Range
		if b != nil && len(b.LabelRanges) > 0 {
			labelRange = &b.LabelRanges[0]
		} else {
			labelRange = def
		}
		id := NormalizeIdentity(pc.Identity)
		if p := identityProblem(pc.Identity); p != "" {
			diags = append(diags, diagAt(hcl.DiagError, labelRange, "Invalid person identity",
				fmt.Sprintf("person %q: %s. Name the person as approvers list them, e.g. person \"ana@example.com\" { keys = [...] }.", textsafe.Line(pc.Identity), p)))
			continue
		}
		if prev, dup := firstAt[id]; dup {
			diags = append(diags, diagAt(hcl.DiagError, labelRange, "Duplicate person",
				fmt.Sprintf("person %q is already declared at %s:%d (identities are compared trimmed and in lower case); merge the keys into one block.", id, prev.Filename, prev.Start.Line)))
			continue
		}
		if def != nil {
			firstAt[id] = *def
		} else {
			firstAt[id] = hcl.Range{}
		}
		var body *hclsyntax.Body
		if b != nil {
			body = b.Body
		}
		keys := []string{}
		for k, line := range pc.Keys {
			canon, blob, problem := parseKey(line)
			if problem != "" {
				diags = append(diags, diagAt(hcl.DiagError, itemRange(body, "keys", k), "Invalid SSH public key",
					fmt.Sprintf("person %q, key %d: %s. Paste one line of the person's public key file (e.g. ~/.ssh/id_ed25519.pub: \"ssh-ed25519 AAAA... %s\").", id, k+1, problem, id)))
				continue
			}
			if other, ok := keyOwner[blob]; ok {
				if other != id {
					diags = append(diags, diagAt(hcl.DiagError, itemRange(body, "keys", k), "SSH key shared by two people",
						fmt.Sprintf("person %q lists a key that person %q lists too; a signature could then not tell them apart. Each person needs their own key.", id, other)))
				}
				continue
			}
			keyOwner[blob] = id
			keys = append(keys, canon)
		}
		people[id] = keys
	}
	return people, diags
}

// parseKey checks one authorized_keys line and returns it in canonical
// form ("type base64 [comment]", no options), the key blob, or a problem.
func parseKey(line string) (canon, blob, problem string) {
	if strings.ContainsAny(line, "\r\n") {
		return "", "", "a key is one line; this one contains a line break (one key per list item)"
	}
	pub, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", "", fmt.Sprintf("not an SSH public key (%v)", err)
	}
	if len(options) > 0 {
		return "", "", fmt.Sprintf("authorized_keys options (%s) have no meaning here; remove them", textsafe.Line(strings.Join(options, ",")))
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return "", "", "more than one key in one item; list each key as its own item"
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
	case ssh.KeyAlgoRSA:
		ck, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return "", "", "an RSA key ferry cannot read"
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < 3072 {
			return "", "", "an RSA key shorter than 3072 bits; use an ed25519 key (ssh-keygen -t ed25519)"
		}
	default:
		return "", "", fmt.Sprintf("key type %s is not accepted (certificates and DSA keys are not); use an ed25519 key (ssh-keygen -t ed25519)", textsafe.Line(pub.Type()))
	}
	canon = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if c := strings.TrimSpace(comment); c != "" && textsafe.Line(c) == c {
		canon += " " + c
	}
	return canon, string(pub.Marshal()), ""
}

// identityList decodes a list of identities (operators), normalising each
// and reporting empty, unprintable and duplicate ones at their item.
func identityList(body *hclsyntax.Body, attr, what string, xs []string) ([]identRef, hcl.Diagnostics) {
	var out []identRef
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for i, x := range xs {
		r := itemRange(body, attr, i)
		if p := identityProblem(x); p != "" {
			diags = append(diags, diagAt(hcl.DiagError, r, "Invalid identity", fmt.Sprintf("%s: %s; write the person's identity, e.g. \"ana@example.com\".", what, p)))
			continue
		}
		id := NormalizeIdentity(x)
		if seen[id] {
			diags = append(diags, diagAt(hcl.DiagError, r, "Identity listed twice",
				fmt.Sprintf("%s lists %q twice (identities are compared trimmed and in lower case); remove one.", what, id)))
			continue
		}
		seen[id] = true
		out = append(out, identRef{ID: id, Range: r})
	}
	return out, diags
}

// gate is one gate of an approvers block as written.
type gate struct {
	Approvers []identRef
	Required  int // 0 when not written
	Set       bool
	Range     *hcl.Range // the gate's expression
}

// gateApprovers decodes one gate: either a list of people
// (cutover = ["ana", "bo"]) or an object with a quorum
// (cutover = { approvers = ["ana", "bo"], required = 2 }).
func gateApprovers(app, name string, expr hcl.Expression) (gate, hcl.Diagnostics) {
	var g gate
	if expr == nil {
		return g, nil
	}
	rng := expr.Range()
	g.Range = &rng
	v, diags := expr.Value(nil)
	if diags.HasErrors() || v.IsNull() {
		return g, diags
	}
	what := fmt.Sprintf("App %q approvers %s", app, name)
	usage := fmt.Sprintf("Write %s = [\"ana@example.com\"] or %s = { approvers = [\"ana@example.com\", \"bo@example.com\"], required = 2 }.", name, name)
	g.Set = true
	ty := v.Type()
	var list cty.Value
	var listExpr hcl.Expression = expr
	requiredSet := false
	switch {
	case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
		list = v
	case ty.IsObjectType() || ty.IsMapType():
		obj, _ := expr.(*hclsyntax.ObjectConsExpr)
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			key := k.AsString()
			kr := objectItemRange(obj, key, &rng)
			if key != "approvers" && key != "required" {
				kr = objectKeyRange(obj, key, &rng)
			}
			switch key {
			case "approvers":
				list = val
				if obj != nil {
					listExpr = objectItemExpr(obj, key)
				}
			case "required":
				n, ok := wholeNumber(val)
				if !ok {
					diags = append(diags, diagAt(hcl.DiagError, kr, "Invalid quorum",
						fmt.Sprintf("%s: required must be a whole number of approvals. %s", what, usage)))
					continue
				}
				g.Required, requiredSet = n, true
			default:
				diags = append(diags, diagAt(hcl.DiagError, kr, "Unknown approvers key",
					fmt.Sprintf("%s: %q is not a key of a gate; a gate has approvers and required. %s", what, textsafe.Line(key), usage)))
			}
		}
		if list == cty.NilVal {
			diags = append(diags, diagAt(hcl.DiagError, &rng, "No approvers",
				fmt.Sprintf("%s names no approvers. %s", what, usage)))
			return g, diags
		}
	default:
		diags = append(diags, diagAt(hcl.DiagError, &rng, "Invalid approvers",
			fmt.Sprintf("%s is a %s. %s", what, ty.FriendlyName(), usage)))
		return g, diags
	}
	lt := list.Type()
	if list.IsNull() || !(lt.IsTupleType() || lt.IsListType() || lt.IsSetType()) {
		diags = append(diags, diagAt(hcl.DiagError, &rng, "Invalid approvers",
			fmt.Sprintf("%s: approvers must be a list of people. %s", what, usage)))
		return g, diags
	}
	seen := map[string]bool{}
	i := 0
	for it := list.ElementIterator(); it.Next(); i++ {
		_, el := it.Element()
		r := exprItemRange(listExpr, i)
		if el.IsNull() || el.Type() != cty.String {
			diags = append(diags, diagAt(hcl.DiagError, r, "Invalid approver",
				fmt.Sprintf("%s: item %d is not a string. %s", what, i+1, usage)))
			continue
		}
		s := el.AsString()
		if p := identityProblem(s); p != "" {
			diags = append(diags, diagAt(hcl.DiagError, r, "Invalid approver",
				fmt.Sprintf("%s: %s; write the person's identity, e.g. \"ana@example.com\".", what, p)))
			continue
		}
		id := NormalizeIdentity(s)
		if seen[id] {
			diags = append(diags, diagAt(hcl.DiagError, r, "Approver listed twice",
				fmt.Sprintf("%s lists %q twice (identities are compared trimmed and in lower case); one person's approval counts once, so remove the duplicate.", what, id)))
			continue
		}
		seen[id] = true
		g.Approvers = append(g.Approvers, identRef{ID: id, Range: r})
	}
	if requiredSet {
		if g.Required < 1 || g.Required > len(g.Approvers) {
			diags = append(diags, diagAt(hcl.DiagError, objectItemRange(asObject(expr), "required", &rng), "Invalid quorum",
				fmt.Sprintf("%s: required = %d, but it must be between 1 and the number of approvers (%d).", what, g.Required, len(g.Approvers))))
		}
	}
	return g, diags
}

func wholeNumber(v cty.Value) (int, bool) {
	if v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	n, acc := bf.Int64()
	if acc != 0 || n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int(n), true
}

func asObject(e hcl.Expression) *hclsyntax.ObjectConsExpr {
	o, _ := e.(*hclsyntax.ObjectConsExpr)
	return o
}

func objectItemExpr(obj *hclsyntax.ObjectConsExpr, key string) hcl.Expression {
	for _, it := range obj.Items {
		if k := hcl.ExprAsKeyword(it.KeyExpr); k == key {
			return it.ValueExpr
		}
		if kv, d := it.KeyExpr.Value(nil); !d.HasErrors() && kv.Type() == cty.String && kv.IsKnown() && !kv.IsNull() && kv.AsString() == key {
			return it.ValueExpr
		}
	}
	return nil
}

func objectItemRange(obj *hclsyntax.ObjectConsExpr, key string, def *hcl.Range) *hcl.Range {
	if obj == nil {
		return def
	}
	if e := objectItemExpr(obj, key); e != nil {
		r := e.Range()
		return &r
	}
	return def
}

func objectKeyRange(obj *hclsyntax.ObjectConsExpr, key string, def *hcl.Range) *hcl.Range {
	if obj == nil {
		return def
	}
	for _, it := range obj.Items {
		if hcl.ExprAsKeyword(it.KeyExpr) == key {
			r := it.KeyExpr.Range()
			return &r
		}
	}
	return def
}

// exprItemRange is the range of element i of a tuple expression, or of the
// whole expression.
func exprItemRange(e hcl.Expression, i int) *hcl.Range {
	if e == nil {
		return nil
	}
	if t, ok := e.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		r := t.Exprs[i].Range()
		return &r
	}
	r := e.Range()
	return &r
}
