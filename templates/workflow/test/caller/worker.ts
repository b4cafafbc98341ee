/**
 * The README's RPC snippets ("RPC for other Workers"), as written there, in a Worker with its own
 * Env: compiled by `pnpm typecheck` (tsc -p test/caller), and run beside the workflow app by
 * `pnpm test:e2e` (test/caller-e2e/). Each answer's members are read, so a member the binding's
 * types dropped (RPC types leave out what they cannot prove serializable) fails the build.
 */
export async function useWorkflows(env: Env): Promise<string[]> {
  const seen: string[] = [];
  const params = { orderId: "42", amount: 25 };
  const other = { orderId: "43", amount: 10 };

  const started = await env.WORKFLOWS.start({ workflow: "order", params: { orderId: "42", amount: 25 } });
  if (!started.ok) throw new Error(started.reason); // "unknown_workflow" | "invalid_params" | "exists" | "invalid_input"
  const id = started.instance.id;
  const sent = await env.WORKFLOWS.sendEvent(id, "approval", { approved: true }, { idempotencyKey: "approval-1" }); // { ok, instance, eventId }
  const view = await env.WORKFLOWS.get(id); // InstanceView | null
  const again = await env.WORKFLOWS.start({ workflow: "order", id: "order-42", params, onConflict: "return" }); // retry-safe: { ok, instance, created: false }
  const pending = await env.WORKFLOWS.listEvents(id, { type: "approval", limit: 50 }); // { ok, page: { events, next } }
  const deleted = await env.WORKFLOWS.deleteEvent(id, 1); // { ok: true } | { ok: false, reason: "no_such_event", … }
  const restarted = await env.WORKFLOWS.restart(id, { name: "charge card", count: 2 });
  const results = await env.WORKFLOWS.startBatch([
    { workflow: "order", params },
    { workflow: "order", params: other },
  ]); // StartResult[], in order
  const page = await env.WORKFLOWS.list({ workflow: "order", status: "waiting", limit: 50 }); // { ok, page: { instances, next } }
  const counts = await env.WORKFLOWS.counts(); // [{ name, counts: { queued, …, complete } }]
  const gone = await env.WORKFLOWS.delete(id); // { ok: true } | { ok: false, reason: "illegal_transition" | "not_found" | "index_unavailable", … }

  // Every member of every answer, refusals' details included.
  if (sent.ok) seen.push(`${sent.instance.status} ${sent.eventId}`);
  else if (sent.reason === "too_many_events") seen.push(`${sent.type} ${sent.limit}`);
  else if (sent.reason === "idempotency_key_reused") seen.push(sent.key);
  if (view) seen.push(view.status, view.createdAt, `${view.steps[0]?.outputBytes}`, `${view.error?.message}`);
  // JSON values (params, outputs, payloads) are `{} | null`, which RPC types keep (they drop `unknown`).
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  const json: ({} | null | undefined)[] = [view?.params, view?.output, view?.steps[0]?.output];
  if (again.ok) seen.push(`${again.created}`);
  else if (again.reason === "invalid_params") seen.push(again.errors.map((e) => `${e.path}: ${e.message}`).join());
  else if (again.reason === "unknown_workflow") seen.push(again.known.join());
  if (pending.ok) seen.push(`${pending.page.events[0]?.payloadBytes} ${pending.page.next}`);
  if (pending.ok) json.push(pending.page.events[0]?.payload);
  seen.push(JSON.stringify(json));
  if (!deleted.ok && deleted.reason === "no_such_event") seen.push(`${deleted.eventId}`);
  if (restarted.ok) seen.push(restarted.instance.status);
  else if (restarted.reason === "no_such_step") seen.push(`${restarted.step} ${restarted.count} ${restarted.calls}`);
  else if (restarted.reason === "illegal_transition") seen.push(`${restarted.status} ${restarted.action}`);
  if (Array.isArray(results)) seen.push(...results.map((r) => (r.ok ? r.instance.id : r.reason)));
  else seen.push(results.detail);
  if (page.ok) seen.push(...page.page.instances.map((i) => `${i.id} ${i.workflow} ${i.updatedAt}`));
  else if (page.reason === "invalid_input") seen.push(page.detail);
  seen.push(...counts.map((c) => `${c.name} ${c.counts.waiting}`));
  if (!gone.ok) seen.push(gone.reason);
  for (const action of ["pause", "resume", "terminate"] as const) {
    const answer = await env.WORKFLOWS[action](id);
    seen.push(answer.ok ? answer.instance.status : answer.reason);
  }
  seen.push((await env.WORKFLOWS.restart(id)).ok ? "from the top" : "refused");
  return seen;
}

export default {
  async fetch(request, env) {
    switch (new URL(request.url).pathname) {
      case "/rpc":
        return Response.json(await useWorkflows(env));
      // Answers once the workflow app's RPC entrypoint answers: the e2e runner waits for it.
      case "/ready":
        return Response.json(await env.WORKFLOWS.counts());
      case "/":
        return new Response("A Worker calling the workflow app over RPC: GET /rpc runs the README's snippets.");
      default:
        return new Response("Not Found", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
