BEGIN TRANSACTION;
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
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	CONSTRAINT pk_schema_version PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-12-02 18:58:33.069712');
CREATE INDEX ix_runs_started_at ON runs (started_at);
CREATE INDEX ix_runs_command_started_at ON runs (command, started_at);
CREATE INDEX ix_findings_fingerprint ON findings (fingerprint);
CREATE INDEX ix_findings_run_id ON findings (run_id);
CREATE INDEX ix_metrics_run_id ON metrics (run_id);
CREATE INDEX ix_metrics_check_name_group_key_run_date ON metrics (check_name, group_key, run_date);
COMMIT;
