package xcap

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"
)

// write answers PUT and DELETE: it computes the new document on a fresh
// tree, validates it and plans the hub changes before making any, applies
// them, and answers 200 (replaced) or 201 (created) with the new ETag.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, req *request, v *view, doc *node) {
	w.Header().Del("ETag") // a failed write answers without one; a done one with the new
	if req.usage.plan == nil {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, status(http.StatusMethodNotAllowed, "the %s document is derived from the roster and read-only", req.usage.auid))
		return
	}
	newDoc, created, err := h.edit(w, r, req, doc)
	if err != nil {
		writeError(w, err)
		return
	}
	changes, err := req.usage.plan(v, newDoc)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	for i, c := range changes {
		if err := c(ctx, h.hub); err != nil {
			h.log.Error().Err(err).Str("user", v.owner.String()).Str("auid", req.usage.auid).
				Int("done", i).Int("changes", len(changes)).Msg("xcap change failed part way")
			h.fail(w, r, err)
			return
		}
	}
	h.log.Debug().Str("user", v.owner.String()).Str("auid", req.usage.auid).Str("method", r.Method).
		Int("changes", len(changes)).Msg("xcap document changed")
	after, err := h.load(ctx, r, v.owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etagOf(req.usage, after, req.usage.render(after)))
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// edit returns the document a PUT or DELETE asks for, and whether the PUT
// created the node.
func (h *Handler) edit(rw http.ResponseWriter, r *http.Request, req *request, doc *node) (*node, bool, error) {
	if r.Method == http.MethodDelete {
		switch {
		case req.sel == nil:
			return nil, false, conflict(condCannotDelete, "the %s document is a view of the roster and always exists; delete its parts", req.usage.auid)
		case req.sel.term == termAttribute:
			d, err := deleteAttribute(doc, req.sel)
			return d, false, err
		case req.sel.term == termNamespace:
			return nil, false, status(http.StatusMethodNotAllowed, "namespace bindings cannot be deleted")
		default:
			d, err := deleteElement(doc, req.sel)
			return d, false, err
		}
	}
	want := req.usage.contentType
	switch {
	case req.sel == nil:
	case req.sel.term == termElement:
		want = ctElement
	case req.sel.term == termAttribute:
		want = ctAttribute
	default:
		return nil, false, status(http.StatusMethodNotAllowed, "namespace bindings cannot be written")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != want {
		return nil, false, status(http.StatusUnsupportedMediaType, "the body must be %s", want)
	}
	body, err := h.readBody(rw, r)
	if err != nil {
		return nil, false, err
	}
	if req.sel != nil && req.sel.term == termAttribute {
		return putAttribute(doc, req.sel, body)
	}
	if !utf8.Valid(body) {
		return nil, false, conflict(condNotUTF8, "the body is not UTF-8")
	}
	elem := &node{}
	if err := h.decode(bytes.NewReader(body), h.cfg.MaxBodyBytes, elem); err != nil {
		if req.sel == nil {
			return nil, false, conflict(condNotWellFormed, "the body is not a well-formed document")
		}
		return nil, false, conflict(condNotXMLFrag, "the body is not one XML element")
	}
	if req.sel == nil {
		return elem, false, nil
	}
	return putElement(doc, req.sel, elem)
}

// readBody reads the whole body, at most Config.MaxBodyBytes (413 beyond).
func (h *Handler) readBody(rw http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return nil, status(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", h.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, h.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, status(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", h.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, status(http.StatusBadRequest, "reading the body: %v", err)
	}
	return body, nil
}
