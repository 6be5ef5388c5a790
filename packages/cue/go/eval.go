// The CUE evaluator varstream calls from Node: JSON requests in, JSON answers out. Schemas compile
// once and are kept by the id the caller gives them (a content hash). wasm.go serves it as a WASI
// reactor, native.go as a long-lived process over stdio.
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
)

var (
	ctx     = cuecontext.New()
	schemas = map[string]cue.Value{}
)

func sprintf(format string, args []interface{}) string {
	return fmt.Sprintf(format, args...)
}

// answer handles one JSON request and encodes the answer.
func answer(req []byte) []byte {
	out, err := json.Marshal(handle(req))
	if err != nil {
		return []byte(`{"errors":[{"path":"","message":"cannot encode the answer"}]}`)
	}
	return out
}

type request struct {
	Op       string          `json:"op"`
	ID       string          `json:"id"`
	Source   string          `json:"source"`
	Filename string          `json:"filename"`
	Data     json.RawMessage `json:"data"`
	Path     string          `json:"path"`
}

type problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

type response struct {
	Errors    []problem       `json:"errors,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	HasConfig bool            `json:"has_config,omitempty"`
	Secret    []string        `json:"secret,omitempty"`
	Sensitive []string        `json:"sensitive,omitempty"`
}

func handle(raw []byte) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{Errors: []problem{{Message: "evaluator panic"}}}
		}
	}()
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return response{Errors: []problem{{Message: "bad request: " + err.Error()}}}
	}
	switch req.Op {
	case "compile":
		return compile(req)
	case "validate":
		return validate(req)
	case "evaluate":
		return evaluate(req)
	case "drop":
		delete(schemas, req.ID)
		return response{}
	}
	return response{Errors: []problem{{Message: "unknown op " + req.Op}}}
}

func problems(err error) []problem {
	var out []problem
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		p := problem{Path: strings.Join(e.Path(), "."), Message: sprintf(format, args)}
		if pos := e.Position(); pos.IsValid() {
			p.Line, p.Column = pos.Line(), pos.Column()
		}
		out = append(out, p)
	}
	if len(out) == 0 && err != nil {
		out = append(out, problem{Message: err.Error()})
	}
	return out
}

func compile(req request) response {
	v := ctx.CompileString(req.Source, cue.Filename(req.Filename))
	if err := v.Err(); err != nil {
		return response{Errors: problems(err)}
	}
	if err := v.Validate(); err != nil {
		return response{Errors: problems(err)}
	}
	schemas[req.ID] = v
	target, hasConfig := configOf(v)
	var secret, sensitive []string
	walk(target, nil, 0, &secret, &sensitive)
	return response{HasConfig: hasConfig, Secret: secret, Sensitive: sensitive}
}

// configOf is the schema's #Config definition when it has one, else the whole schema.
func configOf(v cue.Value) (cue.Value, bool) {
	def := v.LookupPath(cue.ParsePath("#Config"))
	if def.Exists() {
		return def, true
	}
	return v, false
}

// walk collects the paths of fields carrying @secret() or @sensitive(), read through the CUE API.
func walk(v cue.Value, path []string, depth int, secret, sensitive *[]string) {
	if depth > 64 {
		return
	}
	iter, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for iter.Next() {
		field := iter.Value()
		p := append(append([]string{}, path...), iter.Selector().Unquoted())
		if a := field.Attribute("secret"); a.Err() == nil {
			*secret = append(*secret, strings.Join(p, "."))
		}
		if a := field.Attribute("sensitive"); a.Err() == nil {
			*sensitive = append(*sensitive, strings.Join(p, "."))
		}
		if field.IncompleteKind()&cue.StructKind != 0 {
			walk(field, p, depth+1, secret, sensitive)
		}
	}
}

func validate(req request) response {
	schema, ok := schemas[req.ID]
	if !ok {
		return response{Errors: []problem{{Message: "schema " + req.ID + " is not compiled"}}}
	}
	// JSON is CUE: integers stay integers, so `int` constraints hold.
	data := ctx.CompileBytes(req.Data, cue.Filename("data.json"))
	if err := data.Err(); err != nil {
		return response{Errors: problems(err)}
	}
	target, hasConfig := configOf(schema)
	unified := target.Unify(data)
	err := unified.Validate(cue.Concrete(true), cue.Final())
	if err == nil {
		return response{}
	}
	found := problems(err)
	// CUE leaves out "incomplete" errors (a required field missing) when there are conflicts;
	// a user fixing a file wants every violation at once.
	var prefix []string
	if hasConfig {
		prefix = []string{"#Config"}
	}
	missing(target, data, prefix, 0, &found)
	return response{Errors: merge(found)}
}

// missing reports regular fields of the schema (not optional, no default, not concrete) that the
// data lacks.
func missing(schema cue.Value, data cue.Value, path []string, depth int, out *[]problem) {
	if depth > 64 {
		return
	}
	iter, err := schema.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for iter.Next() {
		sel := iter.Selector()
		if sel.ConstraintType() == cue.OptionalConstraint {
			continue
		}
		field := iter.Value()
		name := sel.Unquoted()
		p := append(append([]string{}, path...), name)
		d := data.LookupPath(cue.MakePath(cue.Str(name)))
		if !d.Exists() {
			if _, ok := field.Default(); ok || field.IsConcrete() {
				continue
			}
			*out = append(*out, problem{Path: strings.Join(p, "."), Message: "required field is missing"})
			continue
		}
		if field.IncompleteKind() == cue.StructKind {
			missing(field, d, p, depth+1, out)
		}
	}
}

// merge keeps one problem per path, joining distinct messages (a failed disjunction yields several).
func merge(in []problem) []problem {
	var out []problem
	index := map[string]int{}
	for _, p := range in {
		if p.Message == "" || strings.HasSuffix(p.Message, "errors in empty disjunction:") {
			continue
		}
		if i, ok := index[p.Path]; ok {
			if !strings.Contains(out[i].Message, p.Message) {
				out[i].Message += "; " + p.Message
			}
			continue
		}
		index[p.Path] = len(out)
		out = append(out, p)
	}
	return out
}

func evaluate(req request) response {
	v := ctx.CompileString(req.Source, cue.Filename(req.Filename))
	if err := v.Err(); err != nil {
		return response{Errors: problems(err)}
	}
	if req.Path != "" {
		v = v.LookupPath(cue.ParsePath(req.Path))
		if !v.Exists() {
			return response{Errors: []problem{{Path: req.Path, Message: "not defined"}}}
		}
	}
	if err := v.Validate(cue.Concrete(true), cue.Final()); err != nil {
		return response{Errors: problems(err)}
	}
	out, err := v.MarshalJSON()
	if err != nil {
		return response{Errors: problems(err)}
	}
	return response{Value: out}
}

