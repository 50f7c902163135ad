BEGIN TRANSACTION;
CREATE TABLE alert_state (
	sink VARCHAR NOT NULL, 
	fingerprint VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	firing BOOLEAN NOT NULL, 
	firing_since DATETIME, 
	notified_status VARCHAR, 
	last_notified_at DATETIME, 
	ok_streak INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_alert_state PRIMARY KEY (sink, fingerprint)
);
INSERT INTO "alert_state" VALUES('hook','drift:web','drift','web','warning',1,'2026-09-21 14:00:00.000000','warning','2026-09-21 14:00:01.000000',0,'2026-09-21 14:00:00.000000');
INSERT INTO "alert_state" VALUES('slack','check:x','check','x','ok',0,NULL,NULL,NULL,3,'2026-09-21 14:00:00.000000');
CREATE TABLE completions (
	phase VARCHAR NOT NULL, 
	processor VARCHAR NOT NULL, 
	run_date DATE NOT NULL, 
	first_reported_at DATETIME NOT NULL, 
	last_reported_at DATETIME NOT NULL, 
	reports INTEGER NOT NULL, 
	source VARCHAR NOT NULL, 
	details TEXT NOT NULL, 
	CONSTRAINT pk_completions PRIMARY KEY (phase, processor, run_date)
);
INSERT INTO "completions" VALUES('phase2','a','2026-09-20','2026-09-21 14:05:00.000000','2026-09-21 14:06:00.000000',2,'cli','{"rows":3}');
INSERT INTO "completions" VALUES('phase2','b','2026-09-20','2026-09-21 14:05:00.000000','2026-09-21 14:05:00.000000',1,'cli','{"rows":3}');
CREATE TABLE deployments (
	id INTEGER NOT NULL, 
	service VARCHAR NOT NULL, 
	from_commit VARCHAR, 
	to_commit VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	step VARCHAR, 
	reason TEXT, 
	how VARCHAR NOT NULL, 
	deployed_by VARCHAR NOT NULL, 
	url TEXT, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	output_tail TEXT, 
	relevant_commits TEXT NOT NULL, 
	CONSTRAINT pk_deployments PRIMARY KEY (id)
);
INSERT INTO "deployments" VALUES(1,'web',NULL,'1111111111111111111111111111111111111111','succeeded',NULL,NULL,'record','ci',NULL,'2026-09-21 14:00:00.000000','2026-09-21 14:00:00.000000',NULL,'[]');
INSERT INTO "deployments" VALUES(2,'web','1111111111111111111111111111111111111111','2222222222222222222222222222222222222222','succeeded',NULL,NULL,'deploy','Ada Lovelace','https://***@ci.example.com/b/7','2026-09-21 15:00:00.250000','2026-09-21 15:03:00.000000','deployed
token=*** ✓
','["3333333333333333333333333333333333333333","4444444444444444444444444444444444444444"]');
INSERT INTO "deployments" VALUES(3,'web','2222222222222222222222222222222222222222','5555555555555555555555555555555555555555','failed','verify','the source still reports 22222222 after 10m','deploy','ops',NULL,'2026-09-21 16:00:00.000000','2026-09-21 16:01:00.000000',NULL,'["5555555555555555555555555555555555555555"]');
INSERT INTO "deployments" VALUES(4,'web','5555555555555555555555555555555555555555','2222222222222222222222222222222222222222','rolled_back',NULL,'verify failed','rollback','ops',NULL,'2026-09-21 16:01:00.000000','2026-09-21 16:02:00.000000',NULL,'[]');
INSERT INTO "deployments" VALUES(5,'api',NULL,'6666666666666666666666666666666666666666','succeeded',NULL,NULL,'record','ci',NULL,'2026-09-21 17:00:00.000000','2026-09-21 17:00:00.000000',NULL,'[]');
INSERT INTO "deployments" VALUES(6,'api',NULL,'1111111111111111111111111111111111111111','succeeded',NULL,NULL,'record','ci',NULL,'2026-09-21 17:00:00.000000','2026-09-21 17:00:00.000000',NULL,'[]');
INSERT INTO "deployments" VALUES(7,'api','1111111111111111111111111111111111111111','3333333333333333333333333333333333333333','started',NULL,NULL,'deploy','ops',NULL,'2026-09-21 17:30:00.000000',NULL,NULL,'[]');
INSERT INTO "deployments" VALUES(8,'batch',NULL,'4444444444444444444444444444444444444444','abandoned','deploy','the deploy''s process was gone after its lease','deploy','ops',NULL,'2026-08-12 14:00:00.000000','2026-08-12 15:00:00.000000',NULL,'[]');
CREATE TABLE drift_segments (
	id INTEGER NOT NULL, 
	service VARCHAR NOT NULL, 
	first_at DATETIME NOT NULL, 
	last_at DATETIME NOT NULL, 
	status VARCHAR NOT NULL, 
	runs INTEGER NOT NULL, 
	peak_relevant INTEGER, 
	last_relevant INTEGER, 
	last_age DOUBLE, 
	samples TEXT NOT NULL, 
	CONSTRAINT pk_drift_segments PRIMARY KEY (id)
);
INSERT INTO "drift_segments" VALUES(1,'web','2026-09-21 14:30:05.123456','2026-09-21 14:30:05.123456','warning',1,NULL,NULL,NULL,'[[1790001005123456,null,null]]');
CREATE TABLE findings (
	id INTEGER NOT NULL, 
	run_id VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	summary TEXT NOT NULL, 
	fingerprint VARCHAR NOT NULL, 
	details TEXT NOT NULL, 
	CONSTRAINT pk_findings PRIMARY KEY (id), 
	CONSTRAINT fk_findings_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
INSERT INTO "findings" VALUES(1,'run-full','check','row_count[east]','critical','rows fell by 80 %','check:row_count[east]','{"expected":[50,70],"observed":12.0,"since":"2026-09-01"}');
INSERT INTO "findings" VALUES(2,'run-full','check','null_rate','ok','','x','{}');
INSERT INTO "findings" VALUES(3,'run-full','drift','web','warning','4 commits behind','drift:web','{"commits":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]}');
CREATE TABLE job_locks (
	job VARCHAR NOT NULL, 
	holder VARCHAR NOT NULL, 
	acquired_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	CONSTRAINT pk_job_locks PRIMARY KEY (job)
);
INSERT INTO "job_locks" VALUES('canary','d1','2026-09-21 14:00:00.000000','2026-09-21 14:05:00.000000');
CREATE TABLE job_runs (
	id VARCHAR NOT NULL, 
	job VARCHAR NOT NULL, 
	scheduled_for DATETIME, 
	"trigger" VARCHAR NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	state VARCHAR NOT NULL, 
	exit_code INTEGER, 
	run_id VARCHAR, 
	error TEXT, 
	CONSTRAINT pk_job_runs PRIMARY KEY (id)
);
INSERT INTO "job_runs" VALUES('67397d8ee07e4b2fa111aa0ea0fc2852','canary','2026-09-21 14:00:00.000000','schedule','2026-09-21 14:00:00.000000','2026-09-21 14:00:30.000000','ok',0,'run-full',NULL);
INSERT INTO "job_runs" VALUES('fe239a4fb7244f8196de4ac4e9475a97','canary','2026-09-21 15:00:00.000000','schedule','2026-09-21 14:01:00.000000','2026-09-21 14:01:00.000000','skipped',NULL,NULL,'skipped: held by d1');
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id VARCHAR NOT NULL, 
	check_name VARCHAR NOT NULL, 
	group_key VARCHAR, 
	metric TEXT NOT NULL, 
	run_date DATE NOT NULL, 
	measured_at DATETIME NOT NULL, 
	value DOUBLE, 
	status VARCHAR NOT NULL, 
	anomalous BOOLEAN NOT NULL, 
	CONSTRAINT pk_metrics PRIMARY KEY (id), 
	CONSTRAINT fk_metrics_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
INSERT INTO "metrics" VALUES(1,'run-full','row_count',NULL,'row_count()','2026-09-18','2026-09-19 06:00:00.000000',100.0,'ok',0);
INSERT INTO "metrics" VALUES(2,'run-full','row_count',NULL,'row_count()','2026-09-19','2026-09-20 06:00:00.000000',110.5,'ok',0);
INSERT INTO "metrics" VALUES(3,'run-full','row_count',NULL,'row_count()','2026-09-19','2026-09-20 07:00:00.000001',111.0,'ok',0);
INSERT INTO "metrics" VALUES(4,'run-full','row_count',NULL,'row_count()','2026-09-20','2026-09-21 06:00:00.000000',120.0,'ok',0);
INSERT INTO "metrics" VALUES(5,'run-full','row_count',NULL,'row_count()','2026-09-20','2026-09-21 06:00:00.000000',121.0,'ok',0);
INSERT INTO "metrics" VALUES(6,'run-full','row_count',NULL,'row_count()','2026-09-20','2026-09-20 10:30:00.000000',7.0,'ok',0);
INSERT INTO "metrics" VALUES(7,'run-full','row_count','east','row_count()','2026-09-18','2026-09-19 06:00:00.000000',NULL,'unknown',0);
INSERT INTO "metrics" VALUES(8,'run-full','row_count','east','row_count()','2026-09-19','2026-09-20 06:00:00.000000',NULL,'unknown',0);
INSERT INTO "metrics" VALUES(9,'run-full','row_count','east','row_count()','2026-09-20','2026-09-21 06:00:00.000000',12.0,'critical',1);
INSERT INTO "metrics" VALUES(10,'run-full','row_count','west','row_count()','2026-09-19','2026-09-20 06:00:00.000000',0.0,'ok',0);
INSERT INTO "metrics" VALUES(11,'run-full','null_rate',NULL,'null_rate()','2026-09-20','2026-09-21 06:00:00.000000',3.00000000000000044408e-01,'ok',0);
INSERT INTO "metrics" VALUES(12,'run-full','null_rate','','null_rate()','2026-09-20','2026-09-21 06:00:00.000000',1.0e-300,'ok',0);
INSERT INTO "metrics" VALUES(13,'run-ancient','row_count',NULL,'row_count','0999-12-31','0999-12-31 21:00:00.000000',1.0,'ok',0);
CREATE TABLE outbox (
	id VARCHAR NOT NULL, 
	run_id VARCHAR, 
	sink VARCHAR NOT NULL, 
	target INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	state VARCHAR NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	claimed_by VARCHAR, 
	claimed_until DATETIME, 
	last_error TEXT, 
	delivered_at DATETIME, 
	summary TEXT NOT NULL, 
	payload TEXT NOT NULL, 
	result TEXT, 
	CONSTRAINT pk_outbox PRIMARY KEY (id)
);
INSERT INTO "outbox" VALUES('out-0','routed','hook',0,'2026-09-21 14:00:00.000000','delivered',1,'2026-09-21 16:00:00.000000',NULL,NULL,NULL,'2026-09-21 16:00:01.000000','message 0','{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":0}]}','{"issue":7}');
INSERT INTO "outbox" VALUES('out-1','routed','hook',1,'2026-09-21 14:00:00.000001','pending',0,'2026-09-21 14:00:00.000000','me','2026-09-21 16:01:00.000000',NULL,NULL,'message 1','{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":1}]}',NULL);
INSERT INTO "outbox" VALUES('out-2','routed','slack',2,'2026-09-21 14:00:00.000002','pending',0,'2026-09-21 14:00:00.000000',NULL,NULL,NULL,NULL,'message 2','{"notifications":[{"at":"2026-09-21T14:00:00+00:00","n":2}]}',NULL);
CREATE TABLE phase_triggers (
	phase VARCHAR NOT NULL, 
	run_date DATE NOT NULL, 
	fired_at DATETIME NOT NULL, 
	action TEXT NOT NULL, 
	finished_at DATETIME, 
	outcome VARCHAR, 
	detail TEXT, 
	CONSTRAINT pk_phase_triggers PRIMARY KEY (phase, run_date)
);
INSERT INTO "phase_triggers" VALUES('phase2','2026-09-20','2026-09-21 14:05:00.000000','run ***','2026-09-21 14:07:00.000000','ok','done');
CREATE TABLE remediation_audit (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	kind VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	decision VARCHAR NOT NULL, 
	guardrail VARCHAR, 
	reason TEXT NOT NULL, 
	dry_run BOOLEAN NOT NULL, 
	from_commit VARCHAR, 
	to_commit VARCHAR, 
	actor VARCHAR NOT NULL, 
	details TEXT, 
	CONSTRAINT pk_remediation_audit PRIMARY KEY (id)
);
CREATE TABLE remediation_state (
	subject VARCHAR NOT NULL, 
	state TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_remediation_state PRIMARY KEY (subject)
);
CREATE TABLE rollouts (
	entry_id INTEGER NOT NULL, 
	service VARCHAR NOT NULL, 
	step_index INTEGER NOT NULL, 
	weight INTEGER NOT NULL, 
	holder VARCHAR NOT NULL, 
	request VARCHAR, 
	request_reason TEXT, 
	updated_at DATETIME NOT NULL, 
	events TEXT NOT NULL, 
	CONSTRAINT pk_rollouts PRIMARY KEY (entry_id), 
	CONSTRAINT fk_rollouts_entry_id_deployments FOREIGN KEY(entry_id) REFERENCES deployments (id) ON DELETE CASCADE
);
INSERT INTO "rollouts" VALUES(7,'api',0,10,'host:42:9f2c1a','promote','metrics down; token=***','2026-09-21 17:03:00.000000','[{"event": "started", "steps": [10, 50, 100], "by": "ops"}, {"event": "weight", "step": 1, "weight": 10, "detail": "pushed https://***@ci.example.com"}]');
CREATE TABLE runs (
	id VARCHAR NOT NULL, 
	command VARCHAR NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME NOT NULL, 
	run_date DATE, 
	status VARCHAR NOT NULL, 
	exit_code INTEGER NOT NULL, 
	score DOUBLE, 
	details TEXT NOT NULL, 
	CONSTRAINT pk_runs PRIMARY KEY (id)
);
INSERT INTO "runs" VALUES('run-full','canary','2026-09-21 14:30:05.123456','2026-09-22 09:29:59.999999','2026-09-20','warning',1,0.75,'{"alpha":{"empty":{},"nested":[1,2.5,null,"x",{"a":false,"b":true}]},"at":"2026-09-21T14:00:00+02:00","big":100000000000000000000,"day":"2026-09-20","naive":"2026-01-01T12:00:00","none":null,"text":"gr\u00f6\u00dfe \u2713 \"quoted\"\n","tiny":1e-300,"zeta":1}');
INSERT INTO "runs" VALUES('run-bare','drift','2026-09-21 14:00:00.000000','2026-09-21 14:00:00.000000',NULL,'ok',0,NULL,'{}');
INSERT INTO "runs" VALUES('run-int-score','gate','2026-09-21 14:01:00.000000','2026-09-21 14:02:00.000000','2026-09-20','critical',2,3.0,'{}');
INSERT INTO "runs" VALUES('run-ancient','check','0999-12-31 21:00:00.000000','1000-01-01 00:00:00.000000','0999-12-31','ok',0,-1.5,'{}');
INSERT INTO "runs" VALUES('routed','drift','2026-09-21 15:00:00.000000','2026-09-21 15:00:00.000000','2026-09-20','warning',1,NULL,'{}');
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	CONSTRAINT pk_schema_version PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-03 14:07:40.616872');
INSERT INTO "schema_version" VALUES(2,'2026-12-03 14:07:40.617291');
INSERT INTO "schema_version" VALUES(3,'2026-12-03 14:07:40.617499');
INSERT INTO "schema_version" VALUES(4,'2026-12-03 14:07:40.617620');
INSERT INTO "schema_version" VALUES(5,'2026-12-03 14:07:40.617666');
INSERT INTO "schema_version" VALUES(6,'2026-12-03 14:07:40.617940');
INSERT INTO "schema_version" VALUES(7,'2026-12-03 14:07:40.618086');
INSERT INTO "schema_version" VALUES(8,'2026-12-03 14:07:40.618167');
CREATE TABLE silences (
	id VARCHAR NOT NULL, 
	matchers TEXT NOT NULL, 
	comment TEXT NOT NULL, 
	created_by VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	starts_at DATETIME NOT NULL, 
	ends_at DATETIME NOT NULL, 
	expired_at DATETIME, 
	CONSTRAINT pk_silences PRIMARY KEY (id)
);
INSERT INTO "silences" VALUES('sil-1','{"matchers":[{"name":"subject","op":"=","value":"web"}]}','maintenance','ops','2026-09-21 14:00:00.000000','2026-09-21 14:00:00.000000','2026-09-22 14:00:00.000000','2026-09-21 17:00:00.000000');
CREATE TABLE store_generation (
	id INTEGER NOT NULL, 
	n BIGINT NOT NULL, 
	CONSTRAINT pk_store_generation PRIMARY KEY (id)
);
INSERT INTO "store_generation" VALUES(1,19);
CREATE INDEX ix_runs_command_started_at ON runs (command, started_at);
CREATE INDEX ix_runs_started_at ON runs (started_at);
CREATE INDEX ix_findings_run_id ON findings (run_id);
CREATE INDEX ix_findings_fingerprint ON findings (fingerprint);
CREATE INDEX ix_metrics_check_name_group_key_run_date ON metrics (check_name, group_key, run_date);
CREATE INDEX ix_metrics_run_id ON metrics (run_id);
CREATE INDEX ix_outbox_run_id ON outbox (run_id);
CREATE INDEX ix_outbox_state_next_attempt_at ON outbox (state, next_attempt_at);
CREATE INDEX ix_job_runs_job_started_at ON job_runs (job, started_at);
CREATE INDEX ix_deployments_service_started_at ON deployments (service, started_at);
CREATE INDEX ix_deployments_service_status_started_at ON deployments (service, status, started_at);
CREATE INDEX ix_deployments_started_at ON deployments (started_at);
CREATE INDEX ix_drift_segments_service_first_at ON drift_segments (service, first_at);
CREATE INDEX ix_drift_segments_last_at ON drift_segments (last_at);
CREATE INDEX ix_remediation_audit_at ON remediation_audit (at);
CREATE INDEX ix_remediation_audit_kind_subject_at ON remediation_audit (kind, subject, at);
CREATE INDEX ix_rollouts_service_updated_at ON rollouts (service, updated_at);
COMMIT;
