package edge

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"syscall"
	"time"

	"github.com/edgechaos/edgechaos/stack/internal/httpx"
)

func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("POST /v1/records", a.postRecord)
	mux.HandleFunc("GET /v1/records/{id...}", a.getRecord)
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/config", a.config)
	mux.HandleFunc("GET /metrics", a.serveMetrics)
	return mux
}

func (a *Agent) pending() uint64 {
	last, cur := a.st.LastSeq(), a.st.Cursor()
	if last <= cur {
		return 0
	}
	return last - cur
}

// refuseLateAfter is how long the refuse-offline-late defect takes to notice.
const refuseLateAfter = 3 * time.Second

// refuse implements the refuse-offline and refuse-offline-late defects;
// constant false in the reference build.
func (a *Agent) refuse(w http.ResponseWriter) bool {
	if !defectsBuild {
		return false
	}
	late := a.def.refuseOfflineLate && a.link.mode() == "offline" && a.link.sinceContact() > refuseLateAfter
	if late || a.def.refuseOffline && a.link.mode() == "offline" {
		httpx.Error(w, http.StatusServiceUnavailable, "cloud unreachable")
		return true
	}
	return false
}

func (a *Agent) postRecord(w http.ResponseWriter, r *http.Request) {
	if a.refuse(w) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(a.cfg.MaxBody)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpx.Error(w, http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		httpx.Error(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	rec, err := ParseRecord(body)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := a.st.Put(rec)
	switch {
	case errors.Is(err, ErrConflict):
		a.m.conflicts.Add(1)
		httpx.Error(w, http.StatusConflict, "id "+rec.ID+" already exists with a different ts or payload")
		return
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		if defectsBuild && a.def.dropOnFull {
			// The defect: claim the write although nothing was stored.
			a.m.acked.Add(1)
			httpx.WriteJSON(w, http.StatusCreated, struct {
				ID  string `json:"id"`
				Seq uint64 `json:"seq"`
			}{rec.ID, 0})
			return
		}
		// Nothing was stored (the transaction rolled back): a definite
		// refusal the client may retry once space returns.
		a.m.diskFull.Add(1)
		a.log.Warn("store record: disk full", "id", rec.ID, "err", err)
		httpx.Error(w, http.StatusInsufficientStorage, "disk full: record "+rec.ID+" not stored")
		return
	case err != nil:
		a.log.Error("store record", "id", rec.ID, "err", err)
		httpx.Error(w, http.StatusInternalServerError, "store record: "+err.Error())
		return
	}
	out := struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	}{rec.ID, res.Seq}
	if res.Created {
		a.m.acked.Add(1)
		a.notify()
		httpx.WriteJSON(w, http.StatusCreated, out)
		return
	}
	a.m.retried.Add(1)
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *Agent) getRecord(w http.ResponseWriter, r *http.Request) {
	if a.refuse(w) {
		return
	}
	id := r.PathValue("id")
	doc, seq, found, err := a.st.Get(id)
	if err != nil {
		a.log.Error("read record", "id", id, "err", err)
		httpx.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !found {
		httpx.Error(w, http.StatusNotFound, "no record with id "+id)
		return
	}
	httpx.WriteRaw(w, http.StatusOK, withSynced(doc, seq <= a.st.Cursor()))
}

// Status is the body of GET /v1/status.
type Status struct {
	Node          string  `json:"node"`
	Mode          string  `json:"mode"`
	Pending       uint64  `json:"pending"`
	LastSyncAt    *string `json:"lastSyncAt"`
	ConfigVersion int64   `json:"configVersion"`
}

func (a *Agent) status(w http.ResponseWriter, _ *http.Request) {
	s := Status{Node: a.cfg.NodeID, Mode: a.link.mode(), Pending: a.pending(), ConfigVersion: a.st.Config().Version}
	if t := a.st.LastSync(); !t.IsZero() {
		v := t.UTC().Format(time.RFC3339Nano)
		s.LastSyncAt = &v
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}

func (a *Agent) config(w http.ResponseWriter, _ *http.Request) {
	c := a.st.Config()
	if c.Data == nil {
		c.Data = json.RawMessage("null")
	}
	httpx.WriteJSON(w, http.StatusOK, c)
}
