// A social worker's morning, as a front end would live it, through a client generated from the
// live /openapi.json (openapi-typescript + openapi-fetch). tests/foundation/test_typescript_client.py
// generates generated/schema.d.ts, type-checks this file against it and runs it against a live
// `carelog serve`. A change to the API that breaks this client breaks that test.
//
// Environment: CARELOG_URL, MANAGER_TOKEN, WORKER_TOKEN, WORKER_ID, CHILD_ID (a child allocated to
// the worker, with an overdose recorded overnight: a follow-up visit is due).
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type ClockChange = components["schemas"]["ClockChange"];

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`expected: ${what}`);
}

const baseUrl = need("CARELOG_URL");
const childId = need("CHILD_ID");
const workerId = need("WORKER_ID");
const worker = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${need("WORKER_TOKEN")}` } });
const manager = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${need("MANAGER_TOKEN")}` } });
const childPath = { params: { path: { child_id: childId } } } as const;

function visitBody(narrative: string): components["schemas"]["RecordVisit"] {
  return {
    occurred_at: new Date(Date.now() - 30 * 60 * 1000).toISOString(),
    visitor_id: workerId,
    visitor_role: "child_social_worker",
    kind: "statutory",
    child_seen: true,
    seen_alone: true,
    bedroom_seen: true,
    child_views: "Says she is feeling better and wants to go back to school.",
    narrative,
  };
}

async function main(): Promise<void> {
  // 1. Open the child's record: details and the version to write against.
  const child = await worker.GET("/v1/children/{child_id}", childPath);
  check(child.data, `the child (${child.response.status})`);
  const etag = child.response.headers.get("etag");
  check(etag === `"${child.data.version}"`, "an ETag that is the child's version");
  console.log(`child: ${child.data.name}, ${child.data.legal_status}, version ${child.data.version}`);

  // 2. Read the chronology a page at a time, newest first.
  let cursor: string | undefined;
  let pages = 0;
  const seen: string[] = [];
  do {
    const page = await worker.GET("/v1/children/{child_id}/chronology", {
      params: { path: { child_id: childId }, query: { limit: 2, order: "recorded", cursor } },
    });
    check(page.data, `a chronology page (${page.response.status})`);
    pages += 1;
    for (const entry of page.data.entries) seen.push(entry.type);
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor && pages < 50);
  check(pages >= 2, "more than one page");
  check(seen.includes("visits.IncidentRecorded"), "last night's incident in the chronology");
  console.log(`chronology: ${seen.length} entries in ${pages} pages`);

  // 3. Record the follow-up visit, with an Idempotency-Key, and see the clock it met.
  // The client keeps the request as queued (key and body) so that a retry is the same request.
  const key = crypto.randomUUID();
  const followUp = visitBody("Follow-up visit after the overdose: saw her alone in her room.");
  const recorded = await worker.POST("/v1/children/{child_id}/visits", {
    ...childPath,
    params: { ...childPath.params, header: { "idempotency-key": key } },
    body: followUp,
  });
  check(recorded.data, `the visit (${recorded.response.status})`);
  const met = (recorded.data.clocks ?? []).filter((c: ClockChange) => c.event === "DeadlineMet").map((c) => c.kind);
  check(met.includes("visits.follow_up_visit"), "the follow-up visit clock met");
  console.log(`visit recorded at version ${recorded.data.version}; clocks met: ${met.join(", ")}`);

  // A retry of the same request (the phone lost the answer) is answered again, not recorded twice.
  const retried = await worker.POST("/v1/children/{child_id}/visits", {
    ...childPath,
    params: { ...childPath.params, header: { "idempotency-key": key } },
    body: followUp,
  });
  check(retried.data?.visit_id === recorded.data.visit_id, "the retry answered with the same visit");
  check(retried.response.headers.get("idempotent-replayed") === "true", "the retry marked as replayed");
  console.log(`retried with the same Idempotency-Key: answered again (${retried.response.status}), not recorded twice`);

  // 4. Someone else writes first: the worker's write, made against the version they read, is 412.
  const before = recorded.data.version;
  const other = await manager.POST("/v1/children/{child_id}/visits", {
    ...childPath,
    body: { ...visitBody("Manager's visit while the worker was writing up."), visitor_id: "mgr-duty" },
  });
  check(other.data, `the manager's visit (${other.response.status})`);
  const stale = await worker.POST("/v1/children/{child_id}/visits", {
    ...childPath,
    params: { ...childPath.params, header: { "if-match": `"${before}"` } },
    body: visitBody("A second note of the morning."),
  });
  check(stale.response.status === 412, `412 for a stale If-Match (got ${stale.response.status})`);
  check(stale.error && stale.error.type.endsWith("/precondition-failed"), "a precondition-failed problem");
  const current = stale.response.headers.get("etag");
  console.log(`412 precondition-failed: ${stale.error.detail} (ETag now ${current})`);

  // Recover: read the record again, then write against what is there now.
  const again = await worker.GET("/v1/children/{child_id}", childPath);
  check(again.data && again.response.headers.get("etag") === current, "the re-read sees the new version");
  const retry = await worker.POST("/v1/children/{child_id}/visits", {
    ...childPath,
    params: { ...childPath.params, header: { "if-match": current ?? "" } },
    body: visitBody("A second note of the morning."),
  });
  check(retry.data, `the write after re-reading (${retry.response.status})`);
  console.log(`recovered: recorded at version ${retry.data.version}`);
  console.log("morning done");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
