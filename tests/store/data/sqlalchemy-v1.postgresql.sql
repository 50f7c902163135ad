--
-- PostgreSQL database dump
--

\restrict sIctFZi2RhWAuHbQoCdbh9tSASeDpzsplVKEFAZjdscyjjjyXQLKiO9g87HaBhF

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
-- Name: findings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings ALTER COLUMN id SET DEFAULT nextval('public.findings_id_seq'::regclass);


--
-- Name: metrics id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics ALTER COLUMN id SET DEFAULT nextval('public.metrics_id_seq'::regclass);


--
-- Data for Name: findings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.findings VALUES (1, 'run-full', 'check', 'row_count[east]', 'critical', 'rows fell by 80 %', 'check:row_count[east]', '{"expected":[50,70],"observed":12.0,"since":"2026-09-01"}');
INSERT INTO public.findings VALUES (2, 'run-full', 'check', 'null_rate', 'ok', '', 'x', '{}');
INSERT INTO public.findings VALUES (3, 'run-full', 'drift', 'web', 'warning', '4 commits behind', 'drift:web', '{"commits":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]}');


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
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.runs VALUES ('run-full', 'canary', '2026-09-21 14:30:05.123456+00', '2026-09-22 09:29:59.999999+00', '2026-09-20', 'warning', 1, 0.75, '{"alpha":{"empty":{},"nested":[1,2.5,null,"x",{"a":false,"b":true}]},"at":"2026-09-21T14:00:00+02:00","big":100000000000000000000,"day":"2026-09-20","naive":"2026-01-01T12:00:00","none":null,"text":"gr\u00f6\u00dfe \u2713 \"quoted\"\n","tiny":1e-300,"zeta":1}');
INSERT INTO public.runs VALUES ('run-bare', 'drift', '2026-09-21 14:00:00+00', '2026-09-21 14:00:00+00', NULL, 'ok', 0, NULL, '{}');
INSERT INTO public.runs VALUES ('run-int-score', 'gate', '2026-09-21 14:01:00+00', '2026-09-21 14:02:00+00', '2026-09-20', 'critical', 2, 3, '{}');
INSERT INTO public.runs VALUES ('run-ancient', 'check', '0999-12-31 21:00:00+00', '1000-01-01 00:00:00+00', '0999-12-31', 'ok', 0, -1.5, '{}');


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_version VALUES (1, '2026-12-02 18:58:33.400913+00');


--
-- Name: findings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.findings_id_seq', 3, true);


--
-- Name: metrics_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.metrics_id_seq', 13, true);


--
-- Name: findings pk_findings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT pk_findings PRIMARY KEY (id);


--
-- Name: metrics pk_metrics; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics
    ADD CONSTRAINT pk_metrics PRIMARY KEY (id);


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
-- Name: ix_findings_fingerprint; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_fingerprint ON public.findings USING btree (fingerprint);


--
-- Name: ix_findings_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_run_id ON public.findings USING btree (run_id);


--
-- Name: ix_metrics_check_name_group_key_run_date; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_metrics_check_name_group_key_run_date ON public.metrics USING btree (check_name, group_key, run_date);


--
-- Name: ix_metrics_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_metrics_run_id ON public.metrics USING btree (run_id);


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
-- PostgreSQL database dump complete
--

\unrestrict sIctFZi2RhWAuHbQoCdbh9tSASeDpzsplVKEFAZjdscyjjjyXQLKiO9g87HaBhF

