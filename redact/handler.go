package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps a slog.Handler and redacts the message and every attribute
// value before the inner handler sees it. The CLI and the worker install it
// around their loggers.
type Handler struct {
	inner slog.Handler
	reg   *Registry
}

// NewHandler wraps h; reg nil means the process-wide registry.
func NewHandler(h slog.Handler, reg *Registry) *Handler {
	if reg == nil {
		reg = Default()
	}
	return &Handler{inner: h, reg: reg}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.reg.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(red), reg: h.reg}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), reg: h.reg}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.reg.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = h.attr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		// Errors, Stringers, structs: judge their printed form; keep the
		// original value when nothing in it is secret, so JSON logs keep
		// their structure.
		s := fmt.Sprint(v.Any()) // fmt calls Error/String and survives their panics
		if r := h.reg.String(s); r != s {
			return slog.String(a.Key, r)
		}
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, err.Error())
		}
		return slog.Attr{Key: a.Key, Value: v}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
