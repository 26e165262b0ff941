-- 0018: the funding route a caregiver prefers for a registered guest (issue 12). The portal
-- offers it again for the next request, so the family enters it once. Cleared on erasure
-- with the guest's other fields; the export lists the registered guests, which it did not.

ALTER TABLE guests ADD COLUMN funding text;
ALTER TABLE guests ADD CONSTRAINT guests_funding_known CHECK (
    funding IN ('wmo', 'wlz', 'zvw', 'pgb', 'private'));
COMMENT ON COLUMN guests.funding IS
    'The funding route the caregiver prefers for this guest (offered again in the portal); '
    'NULL when none was chosen. A stay names its own funding.';

CREATE OR REPLACE FUNCTION logeer_erase_guests(p_user uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE guests SET alias = NULL, birth_year = NULL, needs = '{}', funding = NULL,
                      erased_at = now()
     WHERE caregiver_id = p_user AND erased_at IS NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- Free text about the guest goes too; the outcome itself stays for the figures (a
    -- not_suitable outcome must keep a reason: it says that it was erased).
    UPDATE intakes i SET moments = NULL, notes = NULL, cancel_reason = NULL,
                         reason = CASE WHEN i.reason IS NOT NULL THEN '(gewist)' END
      FROM guests g
     WHERE g.id = i.guest_id AND g.caregiver_id = p_user
       AND (i.moments IS NOT NULL OR i.notes IS NOT NULL OR i.reason IS NOT NULL
            OR i.cancel_reason IS NOT NULL);
    RETURN v_n;
END
$$;

-- The export of 0007 with the caregiver's registered guests added: they are data about the
-- account holder's family as much as the stays are.
CREATE OR REPLACE FUNCTION logeer_account_export_guests(p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', g.id, 'alias', g.alias, 'birth_year', g.birth_year,
               'care_profile', g.care_profile, 'needs', g.needs,
               'municipality', g.municipality, 'funding', g.funding,
               'created_at', logeer_rfc3339(g.created_at),
               'updated_at', logeer_rfc3339(g.updated_at),
               'erased_at', logeer_rfc3339(g.erased_at)) ORDER BY g.created_at, g.id), '[]'::jsonb)
      FROM guests g WHERE g.caregiver_id = p_user
$$;
COMMENT ON FUNCTION logeer_account_export_guests(uuid) IS
    'Part of GET /v1/me/export: the caregiver''s registered guests.';
