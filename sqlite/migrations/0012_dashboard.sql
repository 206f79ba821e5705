-- The auditor's dashboard counts decisions, restrictive actions and appeals
-- in a window of time: these let it find them by time without scanning
-- whole tables. The evidence index is partial: only restrictive records are
-- in it, so the import path of ordinary (negative) results writes nothing
-- more.
CREATE INDEX decisions_decided_at ON decisions(decided_at);
CREATE INDEX overrides_created_at ON overrides(created_at);
CREATE INDEX designations_created_at ON designations(created_at);
CREATE INDEX appeals_created_at ON appeals(created_at);
CREATE INDEX evidence_restrictive_at ON evidence(recorded_at)
	WHERE (kind IN ('nucleic_acid_test', 'antigen_test') AND result = 'positive')
		OR (kind = 'diagnosis' AND diagnosis IN ('suspected', 'confirmed', 'asymptomatic'))
		OR kind IN ('close_contact', 'secondary_contact', 'travel', 'quarantine_start');
