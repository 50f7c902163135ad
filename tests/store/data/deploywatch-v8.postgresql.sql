--
-- PostgreSQL database dump
--

\restrict huLWVvZNFBxsfIYt2buP5wHcOK8Bm3XMcKZ4dTcNjhVPQQlexi3z5Xh85VirlGQ

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alert_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_state (
    sink character varying NOT NULL,
    fingerprint character varying NOT NULL,
    kind character varying NOT NULL,
    subject character varying NOT NULL,
    status character varying NOT NULL,
    firing boolean NOT NULL,
    firing_since timestamp with time zone,
    notified_status character varying,
    last_notified_at timestamp with time zone,
    ok_streak integer NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: completions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.completions (
    phase character varying NOT NULL,
    processor character varying NOT NULL,
    run_date date NOT NULL,
    first_reported_at timestamp with time zone NOT NULL,
    last_reported_at timestamp with time zone NOT NULL,
    reports integer NOT NULL,
    source character varying NOT NULL,
    details text NOT NULL
);


--
-- Name: deployments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deployments (
    id bigint NOT NULL,
    service character varying NOT NULL,
    from_commit character varying,
    to_commit character varying NOT NULL,
    status character varying NOT NULL,
    step character varying,
    reason text,
    how character varying NOT NULL,
    deployed_by character varying NOT NULL,
    url text,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    output_tail text,
    relevant_commits text NOT NULL
);


--
-- Name: deployments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deployments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deployments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deployments_id_seq OWNED BY public.deployments.id;


--
-- Name: drift_segments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.drift_segments (
    id bigint NOT NULL,
    service character varying NOT NULL,
    first_at timestamp with time zone NOT NULL,
    last_at timestamp with time zone NOT NULL,
    status character varying NOT NULL,
    runs integer NOT NULL,
    peak_relevant integer,
    last_relevant integer,
    last_age double precision,
    samples text NOT NULL
);


--
-- Name: drift_segments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.drift_segments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: drift_segments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.drift_segments_id_seq OWNED BY public.drift_segments.id;


--
-- Name: findings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.findings (
    id bigint NOT NULL,
    run_id character varying NOT NULL,
    kind character varying NOT NULL,
    subject character varying NOT NULL,
    status character varying NOT NULL,
    summary text NOT NULL,
    fingerprint character varying NOT NULL,
    details text NOT NULL
);


--
-- Name: findings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.findings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: findings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.findings_id_seq OWNED BY public.findings.id;


--
-- Name: job_locks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_locks (
    job character varying NOT NULL,
    holder character varying NOT NULL,
    acquired_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: job_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_runs (
    id character varying NOT NULL,
    job character varying NOT NULL,
    scheduled_for timestamp with time zone,
    trigger character varying NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    state character varying NOT NULL,
    exit_code integer,
    run_id character varying,
    error text
);


--
-- Name: metrics; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metrics (
    id bigint NOT NULL,
    run_id character varying NOT NULL,
    check_name character varying NOT NULL,
    group_key character varying,
    metric text NOT NULL,
    run_date date NOT NULL,
    measured_at timestamp with time zone NOT NULL,
    value double precision,
    status character varying NOT NULL,
    anomalous boolean NOT NULL
);


--
-- Name: metrics_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.metrics_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: metrics_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.metrics_id_seq OWNED BY public.metrics.id;


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id character varying NOT NULL,
    run_id character varying,
    sink character varying NOT NULL,
    target integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    state character varying NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_by character varying,
    claimed_until timestamp with time zone,
    last_error text,
    delivered_at timestamp with time zone,
    summary text NOT NULL,
    payload text NOT NULL,
    result text
);


--
-- Name: phase_triggers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.phase_triggers (
    phase character varying NOT NULL,
    run_date date NOT NULL,
    fired_at timestamp with time zone NOT NULL,
    action text NOT NULL,
    finished_at timestamp with time zone,
    outcome character varying,
    detail text
);


--
-- Name: remediation_audit; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.remediation_audit (
    id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    kind character varying NOT NULL,
    subject character varying NOT NULL,
    decision character varying NOT NULL,
    guardrail character varying,
    reason text NOT NULL,
    dry_run boolean NOT NULL,
    from_commit character varying,
    to_commit character varying,
    actor character varying NOT NULL,
    details text
);


--
-- Name: remediation_audit_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.remediation_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: remediation_audit_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.remediation_audit_id_seq OWNED BY public.remediation_audit.id;


--
-- Name: remediation_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.remediation_state (
    subject character varying NOT NULL,
    state text NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: rollouts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rollouts (
    entry_id integer NOT NULL,
    service character varying NOT NULL,
    step_index integer NOT NULL,
    weight integer NOT NULL,
    holder character varying NOT NULL,
    request character varying,
    request_reason text,
    updated_at timestamp with time zone NOT NULL,
    events text NOT NULL
);


--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    id character varying NOT NULL,
    command character varying NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    run_date date,
    status character varying NOT NULL,
    exit_code integer NOT NULL,
    score double precision,
    details text NOT NULL
);


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone NOT NULL
);


--
-- Name: silences; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.silences (
    id character varying NOT NULL,
    matchers text NOT NULL,
    comment text NOT NULL,
    created_by character varying NOT NULL,
    created_at timestamp with time zone NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    expired_at timestamp with time zone
);


--
-- Name: store_generation; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.store_generation (
    id integer NOT NULL,
    n bigint NOT NULL
);


--
-- Name: deployments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments ALTER COLUMN id SET DEFAULT nextval('public.deployments_id_seq'::regclass);


--
-- Name: drift_segments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.drift_segments ALTER COLUMN id SET DEFAULT nextval('public.drift_segments_id_seq'::regclass);


--
-- Name: findings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings ALTER COLUMN id SET DEFAULT nextval('public.findings_id_seq'::regclass);


--
-- Name: metrics id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics ALTER COLUMN id SET DEFAULT nextval('public.metrics_id_seq'::regclass);


--
-- Name: remediation_audit id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.remediation_audit ALTER COLUMN id SET DEFAULT nextval('public.remediation_audit_id_seq'::regclass);


--
-- Data for Name: alert_state; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_state VALUES ('hook', 'drift:web', 'drift', 'web', 'warning', true, '2026-09-21 14:00:00+00', 'warning', '2026-09-21 14:00:01+00', 0, '2026-09-21 14:00:00+00');
INSERT INTO public.alert_state VALUES ('slack', 'check:x', 'check', 'x', 'ok', false, NULL, NULL, NULL, 3, '2026-09-21 14:00:00+00');


--
-- Data for Name: completions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.completions VALUES ('phase2', 'b', '2026-09-20', '2026-09-21 14:05:00+00', '2026-09-21 14:05:00+00', 1, 'cli', '{"rows":3}');
INSERT INTO public.completions VALUES ('phase2', 'a', '2026-09-20', '2026-09-21 14:05:00+00', '2026-09-21 14:06:00+00', 2, 'cli', '{"rows":3}');


--
-- Data for Name: deployments; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.deployments VALUES (1, 'web', NULL, '1111111111111111111111111111111111111111', 'succeeded', NULL, NULL, 'record', 'ci', NULL, '2026-09-21 14:00:00+00', '2026-09-21 14:00:00+00', NULL, '[]');
INSERT INTO public.deployments VALUES (2, 'web', '1111111111111111111111111111111111111111', '2222222222222222222222222222222222222222', 'succeeded', NULL, NULL, 'deploy', 'Ada Lovelace', 'https://***@ci.example.com/b/7', '2026-09-21 15:00:00.25+00', '2026-09-21 15:03:00+00', 'deployed
token=*** ✓
', '["3333333333333333333333333333333333333333","4444444444444444444444444444444444444444"]');
INSERT INTO public.deployments VALUES (3, 'web', '2222222222222222222222222222222222222222', '5555555555555555555555555555555555555555', 'failed', 'verify', 'the source still reports 22222222 after 10m', 'deploy', 'ops', NULL, '2026-09-21 16:00:00+00', '2026-09-21 16:01:00+00', NULL, '["5555555555555555555555555555555555555555"]');
INSERT INTO public.deployments VALUES (4, 'web', '5555555555555555555555555555555555555555', '2222222222222222222222222222222222222222', 'rolled_back', NULL, 'verify failed', 'rollback', 'ops', NULL, '2026-09-21 16:01:00+00', '2026-09-21 16:02:00+00', NULL, '[]');
INSERT INTO public.deployments VALUES (5, 'api', NULL, '6666666666666666666666666666666666666666', 'succeeded', NULL, NULL, 'record', 'ci', NULL, '2026-09-21 17:00:00+00', '2026-09-21 17:00:00+00', NULL, '[]');
INSERT INTO public.deployments VALUES (6, 'api', NULL, '1111111111111111111111111111111111111111', 'succeeded', NULL, NULL, 'record', 'ci', NULL, '2026-09-21 17:00:00+00', '2026-09-21 17:00:00+00', NULL, '[]');
INSERT INTO public.deployments VALUES (7, 'api', '1111111111111111111111111111111111111111', '3333333333333333333333333333333333333333', 'started', NULL, NULL, 'deploy', 'ops', NULL, '2026-09-21 17:30:00+00', NULL, NULL, '[]');
INSERT INTO public.deployments VALUES (8, 'batch', NULL, '4444444444444444444444444444444444444444', 'abandoned', 'deploy', 'the deploy''s process was gone after its lease', 'deploy', 'ops', NULL, '2026-08-12 14:00:00+00', '2026-08-12 15:00:00+00', NULL, '[]');


--
-- Data for Name: drift_segments; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.drift_segments VALUES (1, 'web', '2026-09-21 14:30:05.123456+00', '2026-09-21 14:30:05.123456+00', 'warning', 1, NULL, NULL, NULL, '[[1790001005123456,null,null]]');


--
-- Data for Name: findings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.findings VALUES (1, 'run-full', 'check', 'row_count[east]', 'critical', 'rows fell by 80 %', 'check:row_count[east]', '{"expected":[50,70],"observed":12.0,"since":"2026-09-01"}');
INSERT INTO public.findings VALUES (2, 'run-full', 'check', 'null_rate', 'ok', '', 'x', '{}');
INSERT INTO public.findings VALUES (3, 'run-full', 'drift', 'web', 'warning', '4 commits behind', 'drift:web', '{"commits":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]}');


--
-- Data for Name: job_locks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.job_locks VALUES ('canary', 'd1', '2026-09-21 14:00:00+00', '2026-09-21 14:05:00+00');


--
-- Data for Name: job_runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.job_runs VALUES ('b59f3da587e64a879336fff31bf0864a', 'canary', '2026-09-21 14:00:00+00', 'schedule', '2026-09-21 14:00:00+00', '2026-09-21 14:00:30+00', 'ok', 0, 'run-full', NULL);
INSERT INTO public.job_runs VALUES ('f54967febd0348d7a006940134b92bd7', 'canary', '2026-09-21 15:00:00+00', 'schedule', '2026-09-21 14:01:00+00', '2026-09-21 14:01:00+00', 'skipped', NULL, NULL, 'skipped: held by d1');


--
-- Data for Name: metrics; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.metrics VALUES (1, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-18', '2026-09-19 06:00:00+00', 100, 'ok', false);
INSERT INTO public.metrics VALUES (2, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-19', '2026-09-20 06:00:00+00', 110.5, 'ok', false);
INSERT INTO public.metrics VALUES (3, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-19', '2026-09-20 07:00:00.000001+00', 111, 'ok', false);
INSERT INTO public.metrics VALUES (4, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-20', '2026-09-21 06:00:00+00', 120, 'ok', false);
INSERT INTO public.metrics VALUES (5, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-20', '2026-09-21 06:00:00+00', 121, 'ok', false);
INSERT INTO public.metrics VALUES (6, 'run-full', 'row_count', NULL, 'row_count()', '2026-09-20', '2026-09-20 10:30:00+00', 7, 'ok', false);
INSERT INTO public.metrics VALUES (7, 'run-full', 'row_count', 'east', 'row_count()', '2026-09-18', '2026-09-19 06:00:00+00', NULL, 'unknown', false);
INSERT INTO public.metrics VALUES (8, 'run-full', 'row_count', 'east', 'row_count()', '2026-09-19', '2026-09-20 06:00:00+00', NULL, 'unknown', false);
INSERT INTO public.metrics VALUES (9, 'run-full', 'row_count', 'east', 'row_count()', '2026-09-20', '2026-09-21 06:00:00+00', 12, 'critical', true);
INSERT INTO public.metrics VALUES (10, 'run-full', 'row_count', 'west', 'row_count()', '2026-09-19', '2026-09-20 06:00:00+00', -0, 'ok', false);
INSERT INTO public.metrics VALUES (11, 'run-full', 'null_rate', NULL, 'null_rate()', '2026-09-20', '2026-09-21 06:00:00+00', 0.30000000000000004, 'ok', false);
INSERT INTO public.metrics VALUES (12, 'run-full', 'null_rate', '', 'null_rate()', '2026-09-20', '2026-09-21 06:00:00+00', 1e-300, 'ok', false);
INSERT INTO public.metrics VALUES (13, 'run-ancient', 'row_count', NULL, 'row_count', '0999-12-31', '0999-12-31 21:00:00+00', 1, 'ok', false);


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.outbox VALUES ('out-2', 'routed', 'slack', 2, '2026-09-21 14:00:00.000002+00', 'pending', 0, '2026-09-21 14:00:00+00', NULL, NULL, NULL, NULL, 'message 2', '{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":2}]}', NULL);
INSERT INTO public.outbox VALUES ('out-1', 'routed', 'hook', 1, '2026-09-21 14:00:00.000001+00', 'pending', 0, '2026-09-21 14:00:00+00', 'me', '2026-09-21 16:01:00+00', NULL, NULL, 'message 1', '{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":1}]}', NULL);
INSERT INTO public.outbox VALUES ('out-0', 'routed', 'hook', 0, '2026-09-21 14:00:00+00', 'delivered', 1, '2026-09-21 16:00:00+00', NULL, NULL, NULL, '2026-09-21 16:00:01+00', 'message 0', '{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":0}]}', '{"issue":7}');


--
-- Data for Name: phase_triggers; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.phase_triggers VALUES ('phase2', '2026-09-20', '2026-09-21 14:05:00+00', 'run ***', '2026-09-21 14:07:00+00', 'ok', 'done');


--
-- Data for Name: remediation_audit; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: remediation_state; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: rollouts; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.rollouts VALUES (7, 'api', 0, 10, 'host:42:9f2c1a', 'promote', 'metrics down; token=***', '2026-09-21 17:03:00+00', '[{"event": "started", "steps": [10, 50, 100], "by": "ops"}, {"event": "weight", "step": 1, "weight": 10, "detail": "pushed https://***@ci.example.com"}]');


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.runs VALUES ('run-full', 'canary', '2026-09-21 14:30:05.123456+00', '2026-09-22 09:29:59.999999+00', '2026-09-20', 'warning', 1, 0.75, '{"alpha":{"empty":{},"nested":[1,2.5,null,"x",{"a":false,"b":true}]},"at":"2026-09-21T14:00:00+02:00","big":100000000000000000000,"day":"2026-09-20","naive":"2026-01-01T12:00:00","none":null,"text":"gr\u00f6\u00dfe \u2713 \"quoted\"\n","tiny":1e-300,"zeta":1}');
INSERT INTO public.runs VALUES ('run-bare', 'drift', '2026-09-21 14:00:00+00', '2026-09-21 14:00:00+00', NULL, 'ok', 0, NULL, '{}');
INSERT INTO public.runs VALUES ('run-int-score', 'gate', '2026-09-21 14:01:00+00', '2026-09-21 14:02:00+00', '2026-09-20', 'critical', 2, 3, '{}');
INSERT INTO public.runs VALUES ('run-ancient', 'check', '0999-12-31 21:00:00+00', '1000-01-01 00:00:00+00', '0999-12-31', 'ok', 0, -1.5, '{}');
INSERT INTO public.runs VALUES ('routed', 'drift', '2026-09-21 15:00:00+00', '2026-09-21 15:00:00+00', '2026-09-20', 'warning', 1, NULL, '{}');


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_version VALUES (1, '2026-12-03 14:07:40.752163+00');
INSERT INTO public.schema_version VALUES (2, '2026-12-03 14:07:40.758626+00');
INSERT INTO public.schema_version VALUES (3, '2026-12-03 14:07:40.765801+00');
INSERT INTO public.schema_version VALUES (4, '2026-12-03 14:07:40.769729+00');
INSERT INTO public.schema_version VALUES (5, '2026-12-03 14:07:40.771004+00');
INSERT INTO public.schema_version VALUES (6, '2026-12-03 14:07:40.775809+00');
INSERT INTO public.schema_version VALUES (7, '2026-12-03 14:07:40.780637+00');
INSERT INTO public.schema_version VALUES (8, '2026-12-03 14:07:40.783279+00');


--
-- Data for Name: silences; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.silences VALUES ('sil-1', '{"matchers":[{"name":"subject","op":"=","value":"web"}]}', 'maintenance', 'ops', '2026-09-21 14:00:00+00', '2026-09-21 14:00:00+00', '2026-09-22 14:00:00+00', '2026-09-21 17:00:00+00');


--
-- Data for Name: store_generation; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.store_generation VALUES (1, 19);


--
-- Name: deployments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deployments_id_seq', 8, true);


--
-- Name: drift_segments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.drift_segments_id_seq', 1, true);


--
-- Name: findings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.findings_id_seq', 3, true);


--
-- Name: metrics_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.metrics_id_seq', 13, true);


--
-- Name: remediation_audit_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.remediation_audit_id_seq', 1, false);


--
-- Name: alert_state pk_alert_state; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_state
    ADD CONSTRAINT pk_alert_state PRIMARY KEY (sink, fingerprint);


--
-- Name: completions pk_completions; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.completions
    ADD CONSTRAINT pk_completions PRIMARY KEY (phase, processor, run_date);


--
-- Name: deployments pk_deployments; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT pk_deployments PRIMARY KEY (id);


--
-- Name: drift_segments pk_drift_segments; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.drift_segments
    ADD CONSTRAINT pk_drift_segments PRIMARY KEY (id);


--
-- Name: findings pk_findings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT pk_findings PRIMARY KEY (id);


--
-- Name: job_locks pk_job_locks; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_locks
    ADD CONSTRAINT pk_job_locks PRIMARY KEY (job);


--
-- Name: job_runs pk_job_runs; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_runs
    ADD CONSTRAINT pk_job_runs PRIMARY KEY (id);


--
-- Name: metrics pk_metrics; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics
    ADD CONSTRAINT pk_metrics PRIMARY KEY (id);


--
-- Name: outbox pk_outbox; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT pk_outbox PRIMARY KEY (id);


--
-- Name: phase_triggers pk_phase_triggers; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.phase_triggers
    ADD CONSTRAINT pk_phase_triggers PRIMARY KEY (phase, run_date);


--
-- Name: remediation_audit pk_remediation_audit; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.remediation_audit
    ADD CONSTRAINT pk_remediation_audit PRIMARY KEY (id);


--
-- Name: remediation_state pk_remediation_state; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.remediation_state
    ADD CONSTRAINT pk_remediation_state PRIMARY KEY (subject);


--
-- Name: rollouts pk_rollouts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rollouts
    ADD CONSTRAINT pk_rollouts PRIMARY KEY (entry_id);


--
-- Name: runs pk_runs; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT pk_runs PRIMARY KEY (id);


--
-- Name: schema_version pk_schema_version; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT pk_schema_version PRIMARY KEY (version);


--
-- Name: silences pk_silences; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.silences
    ADD CONSTRAINT pk_silences PRIMARY KEY (id);


--
-- Name: store_generation pk_store_generation; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.store_generation
    ADD CONSTRAINT pk_store_generation PRIMARY KEY (id);


--
-- Name: ix_deployments_service_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_service_started_at ON public.deployments USING btree (service, started_at);


--
-- Name: ix_deployments_service_status_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_service_status_started_at ON public.deployments USING btree (service, status, started_at);


--
-- Name: ix_deployments_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_started_at ON public.deployments USING btree (started_at);


--
-- Name: ix_drift_segments_last_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_drift_segments_last_at ON public.drift_segments USING btree (last_at);


--
-- Name: ix_drift_segments_service_first_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_drift_segments_service_first_at ON public.drift_segments USING btree (service, first_at);


--
-- Name: ix_findings_fingerprint; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_fingerprint ON public.findings USING btree (fingerprint);


--
-- Name: ix_findings_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_run_id ON public.findings USING btree (run_id);


--
-- Name: ix_job_runs_job_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_job_runs_job_started_at ON public.job_runs USING btree (job, started_at);


--
-- Name: ix_metrics_check_name_group_key_run_date; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_metrics_check_name_group_key_run_date ON public.metrics USING btree (check_name, group_key, run_date);


--
-- Name: ix_metrics_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_metrics_run_id ON public.metrics USING btree (run_id);


--
-- Name: ix_outbox_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_run_id ON public.outbox USING btree (run_id);


--
-- Name: ix_outbox_state_next_attempt_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_state_next_attempt_at ON public.outbox USING btree (state, next_attempt_at);


--
-- Name: ix_remediation_audit_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_remediation_audit_at ON public.remediation_audit USING btree (at);


--
-- Name: ix_remediation_audit_kind_subject_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_remediation_audit_kind_subject_at ON public.remediation_audit USING btree (kind, subject, at);


--
-- Name: ix_rollouts_service_updated_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_rollouts_service_updated_at ON public.rollouts USING btree (service, updated_at);


--
-- Name: ix_runs_command_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_command_started_at ON public.runs USING btree (command, started_at);


--
-- Name: ix_runs_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_started_at ON public.runs USING btree (started_at);


--
-- Name: findings fk_findings_run_id_runs; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT fk_findings_run_id_runs FOREIGN KEY (run_id) REFERENCES public.runs(id) ON DELETE CASCADE;


--
-- Name: metrics fk_metrics_run_id_runs; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics
    ADD CONSTRAINT fk_metrics_run_id_runs FOREIGN KEY (run_id) REFERENCES public.runs(id) ON DELETE CASCADE;


--
-- Name: rollouts fk_rollouts_entry_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rollouts
    ADD CONSTRAINT fk_rollouts_entry_id_deployments FOREIGN KEY (entry_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict huLWVvZNFBxsfIYt2buP5wHcOK8Bm3XMcKZ4dTcNjhVPQQlexi3z5Xh85VirlGQ

