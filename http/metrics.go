package http

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"healthcode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NodeState is what /metrics reads of the node at each scrape.
type NodeState struct {
	CheckInsQueued int64                  // check-ins waiting in the group-commit queue
	LogSize        int64                  // leaves in the log
	Checkpoint     *healthcode.Checkpoint // the last signed; nil before the first
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	registry *prometheus.Registry
	// audits counts the node's self-audits by result (ok, tampered,
	// error); auditSeconds, auditLeaves and auditAt describe the last one.
	audits       *prometheus.CounterVec
	auditSeconds prometheus.Gauge
	auditLeaves  prometheus.Gauge
	auditAt      prometheus.Gauge
	// What the node logged since it started: entries by type, colour
	// decisions by what made them (rules or an approved override), evidence
	// by kind. Counts of work, never of people by colour.
	entries   *prometheus.CounterVec
	decisions *prometheus.CounterVec
	evidence  *prometheus.CounterVec
	// verifies counts POST /api/v1/verify by outcome: valid, or the reason
	// a code was not.
	verifies *prometheus.CounterVec
	// The witnesses: each one's asks by result, and the size of the last
	// checkpoint it cosigned.
	cosigns      *prometheus.CounterVec
	cosignedSize *prometheus.GaugeVec
}

// stateCollector reads NodeState at each scrape.
type stateCollector struct {
	state                            func(context.Context) NodeState
	clock                            healthcode.Clock
	queue, size, cpSize, cpAge, cpAt *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queue, c.size, c.cpSize, c.cpAge, c.cpAt} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.state(context.Background())
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(st.CheckInsQueued))
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.LogSize))
	if cp := st.Checkpoint; cp != nil {
		ch <- prometheus.MustNewConstMetric(c.cpSize, prometheus.GaugeValue, float64(cp.Size))
		now := time.Now()
		if c.clock != nil {
			now = c.clock.Now()
		}
		ch <- prometheus.MustNewConstMetric(c.cpAge, prometheus.GaugeValue, now.Sub(cp.Time).Seconds())
		ch <- prometheus.MustNewConstMetric(c.cpAt, prometheus.GaugeValue, float64(cp.Time.UnixNano())/1e9)
	}
}

func newMetrics(reg *prometheus.Registry, health, degraded Health, state func(context.Context) NodeState, clock healthcode.Clock) *metrics {
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcode_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "healthcode_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.audits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_audits_total", Help: "Self-audits of the store against the log, by result (ok, tampered, error).",
	}, []string{"result"})
	m.auditSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "healthcode_audit_last_seconds", Help: "How long the last self-audit took (every stored hash recomputed, every decision checked).",
	})
	m.auditLeaves = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "healthcode_audit_last_leaves", Help: "Leaves whose hashes the last self-audit recomputed.",
	})
	m.auditAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "healthcode_audit_last_timestamp_seconds", Help: "When the last self-audit ended (Unix time).",
	})
	m.entries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_log_entries_total", Help: "Log entries appended since the node started, by entry type.",
	}, []string{"type"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_decisions_total", Help: "Colour decisions logged since the node started, by kind: rules (the rule set applied to evidence) or override (an approved manual colour).",
	}, []string{"kind"})
	m.evidence = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_evidence_total", Help: "Evidence accepted and logged since the node started, by kind.",
	}, []string{"kind"})
	m.verifies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_verify_total", Help: "Health codes checked by POST /api/v1/verify, by outcome: valid, or the reason one was not.",
	}, []string{"outcome"})
	m.cosigns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_witness_cosign_total", Help: "Checkpoints offered to each witness, by result (cosigned, failed).",
	}, []string{"witness", "result"})
	m.cosignedSize = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "healthcode_witness_cosigned_size", Help: "Size of the last checkpoint each witness cosigned: behind healthcode_checkpoint_size, the witness lags.",
	}, []string{"witness"})
	// The alert: 1 while the node has found its store disagreeing with its
	// log (it then signs no checkpoint and no code for those concerned).
	problem := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "healthcode_integrity_problem",
		Help: "1 while the node's store disagrees with its log (tampering, rollback or fork; see /healthz), else 0.",
	}, func() float64 {
		if health != nil && health(context.Background()) != nil {
			return 1
		}
		return 0
	})
	writes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "healthcode_store_write_problem",
		Help: "1 while the node's disk refuses writes or is nearly full (writes answer 503 with Retry-After; reads go on; see /healthz), else 0.",
	}, func() float64 {
		if degraded != nil && degraded(context.Background()) != nil {
			return 1
		}
		return 0
	})
	reg.MustRegister(m.requests, m.latency, m.audits, m.auditSeconds, m.auditLeaves, m.auditAt, problem, writes,
		m.entries, m.decisions, m.evidence, m.verifies, m.cosigns, m.cosignedSize)
	if state != nil {
		reg.MustRegister(&stateCollector{state: state, clock: clock,
			queue:  prometheus.NewDesc("healthcode_checkin_queue_depth", "Check-ins waiting in the group-commit queue (a full queue answers 503).", nil, nil),
			size:   prometheus.NewDesc("healthcode_log_size", "Leaves in the transparency log.", nil, nil),
			cpSize: prometheus.NewDesc("healthcode_checkpoint_size", "Tree size of the last signed checkpoint.", nil, nil),
			cpAge:  prometheus.NewDesc("healthcode_checkpoint_age_seconds", "Seconds since the last checkpoint was signed (it grows while the node signs none, as on an integrity problem).", nil, nil),
			cpAt:   prometheus.NewDesc("healthcode_checkpoint_timestamp_seconds", "When the last checkpoint was signed (Unix time).", nil, nil),
		})
	}
	return m
}

// ObserveAudit records a self-audit of the store against the log: how long
// it took, how many leaves it recomputed and what it found.
func (s *Server) ObserveAudit(d time.Duration, leaves int64, err error) {
	s.Handler() // the metrics exist once the handler does
	result := "ok"
	switch {
	case healthcode.ErrorCode(err) == healthcode.ETAMPERED:
		result = "tampered"
	case err != nil:
		result = "error"
	}
	s.metrics.audits.WithLabelValues(result).Inc()
	s.metrics.auditSeconds.Set(d.Seconds())
	s.metrics.auditLeaves.Set(float64(leaves))
	s.metrics.auditAt.Set(float64(time.Now().UnixNano()) / 1e9)
}

// ObserveLogged records what one commit logged: its entries' types and the
// kinds of the evidence it accepted.
func (s *Server) ObserveLogged(types []healthcode.LogType, evidence []healthcode.EvidenceKind) {
	s.Handler()
	for _, t := range types {
		s.metrics.entries.WithLabelValues(string(t)).Inc()
		switch t {
		case healthcode.LogDecision:
			s.metrics.decisions.WithLabelValues("rules").Inc()
		case healthcode.LogOverride:
			s.metrics.decisions.WithLabelValues("override").Inc()
		}
	}
	for _, k := range evidence {
		s.metrics.evidence.WithLabelValues(string(k)).Inc()
	}
}

// ObserveCosign records one witness's answer to a checkpoint of size: err
// nil if it cosigned it.
func (s *Server) ObserveCosign(witness string, size int64, err error) {
	s.Handler()
	if err != nil {
		s.metrics.cosigns.WithLabelValues(witness, "failed").Inc()
		return
	}
	s.metrics.cosigns.WithLabelValues(witness, "cosigned").Inc()
	s.metrics.cosignedSize.WithLabelValues(witness).Set(float64(size))
}

// observeVerify counts a verification by outcome.
func (m *metrics) observeVerify(err error) {
	outcome := "valid"
	if err != nil {
		if outcome = healthcode.ErrorDetail(err); outcome == "" {
			outcome = healthcode.ErrorCode(err)
		}
	}
	m.verifies.WithLabelValues(outcome).Inc()
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// serveMetrics serves /metrics: open to a scraper on the node's own machine
// (a connection from a loopback address to a loopback address, with no
// reverse proxy configured or in between), else only with the bearer
// token MetricsToken (--metrics-token).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if !s.metricsAllowed(r) {
		if s.MetricsToken == "" {
			return healthcode.Errorfd(healthcode.EFORBIDDEN, "metrics.closed",
				"/metrics is open only to a scraper on the node's own machine (127.0.0.1, no proxy); give the node a --metrics-token for one elsewhere")
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return healthcode.Errorfd(healthcode.EUNAUTHORIZED, "metrics.token", "/metrics needs Authorization: Bearer <the node's --metrics-token>")
	}
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if s.MetricsToken != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(tok), []byte(s.MetricsToken)) == 1 {
			return true
		}
	}
	if s.PublicURL != "" || len(s.TrustedProxies) > 0 || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false // a proxy forwards from elsewhere: loopback proves nothing
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !remote.Addr().Unmap().IsLoopback() {
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	la, err := netip.ParseAddrPort(local.String())
	return err == nil && la.Addr().Unmap().IsLoopback()
}
