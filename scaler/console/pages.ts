/**
 * The console's pages, one per concern: node groups, stack history, shadow-mode decisions, approvals.
 * Pure: data in, HTML out, everything interpolated escaped (html.ts). Styles inline, no script, nothing
 * fetched from elsewhere; forms post to the console itself with its CSRF token.
 */
import { describeCostChange, formatCost } from "../decision/cost.js";
import type { ReviewRecord } from "../review/records.js";
import type { GroupRow, HistoryRow } from "./data.js";
import { summarizeUpdate } from "./history.js";
import { type Html, html, trusted } from "./html.js";

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:center}
header b{font-size:16px} header a{color:#c9d4e5;text-decoration:none} header a.on{color:#fff;border-bottom:2px solid #7aa7ff}
main{padding:16px 20px} h1{font-size:18px;margin:4px 0 12px}
table{border-collapse:collapse;width:100%;background:#fff} th,td{border-bottom:1px solid #e3e6eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{margin:4px 0;white-space:pre-wrap;font-size:12px;background:#f1f3f6;padding:6px}
.tag{display:inline-block;padding:0 6px;border-radius:8px;background:#e6ebf3;font-size:12px}
.pending{background:#fff3cd}.approved,.applied{background:#d9f2df}.rejected,.failed{background:#f8d7da}.expired,.stale{background:#eee}
.up{color:#a24a00}.down{color:#1c7c3c} form{display:inline} input[type=text]{width:14em}
button{padding:2px 10px;margin-left:4px} nav.pages{margin:10px 0} nav.pages a{margin-right:12px}
.empty{color:#667;padding:12px 0}`;

export type Tab = "groups" | "history" | "shadow" | "approvals";

export function layout(tab: Tab, title: string, body: Html, notice?: string): Html {
  const link = (t: Tab, label: string) => html`<a href="/${t}" class="${t === tab ? "on" : ""}">${label}</a>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · vpsie-autoscaler</title>
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <style>
          ${trusted(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <b>vpsie-autoscaler</b
          >${link("groups", "Node groups")}${link("history", "History")}${link("shadow", "Shadow mode")}${link("approvals", "Approvals")}
        </header>
        <main>
          <h1>${title}</h1>
          ${notice ? html`<p class="tag pending" role="status">${notice}</p>` : ""}${body}
        </main>
      </body>
    </html>`;
}

/** A table with its header row, its rows, a line saying why it is empty, and an optional footer. */
function dataTable(headers: string[], rows: Html[], empty: string, foot?: Html): Html {
  return html`<table>
    <thead>
      <tr>
        ${headers.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${
        rows.length
          ? rows
          : html`<tr>
              <td colspan="${headers.length}" class="empty">${empty}</td>
            </tr>`
      }
    </tbody>
    ${
      foot
        ? html`<tfoot>
            ${foot}
          </tfoot>`
        : ""
    }
  </table>`;
}

const money = (dollars: number | undefined) =>
  dollars === undefined ? "unknown" : `${formatCost(dollars)}/h`;

export function groupsPage(groups: GroupRow[], pending: ReviewRecord[]): Html {
  const total = groups.reduce((sum, g) => sum + (g.costPerHour ?? 0), 0);
  const rows = groups.map(
    (g) =>
      html`<tr data-group="${g.name}">
        <td>${g.name}</td>
        <td class="num">${g.members}</td>
        <td class="num">${g.minNodes}</td>
        <td class="num">${g.maxNodes}</td>
        <td class="num">${money(g.pricePerHour)}</td>
        <td class="num">${money(g.costPerHour)}</td>
        <td>${g.backoff ?? "no"}</td>
        <td class="num">${pending.filter((r) => r.group === g.name).length}</td>
        <td><a href="/history?group=${encodeURIComponent(g.name)}">history</a></td>
      </tr>`,
  );
  return layout(
    "groups",
    "Node groups",
    dataTable(
      ["Group", "Nodes", "Min", "Max", "$/h per node", "$/h", "Backing off", "Waiting for approval", ""],
      rows,
      "No node groups: add stacks/Pulumi.<group>.yaml.",
      html`<tr>
        <th colspan="5">All groups</th>
        <th class="num">${money(total)}</th>
        <th colspan="3"></th>
      </tr>`,
    ),
  );
}

function changes(c: Record<string, number>): string {
  return (
    Object.entries(c)
      .filter(([op, n]) => op !== "same" && n > 0)
      .map(([op, n]) => `${op} ${n}`)
      .join(", ") || "none"
  );
}

function pager(base: string, page: number, hasNext: boolean): Html {
  return html`<nav class="pages">
    ${page > 1 ? html`<a href="${base}&page=${page - 1}">← newer</a>` : ""}<span>page ${page}</span>${
      hasNext ? html` <a href="${base}&page=${page + 1}">older →</a>` : ""
    }
  </nav>`;
}

export function historyPage(
  groups: string[],
  group: string | undefined,
  rows: HistoryRow[],
  page: number,
  pageSize: number,
): Html {
  const picker = html`<nav class="pages">
    Group:
    ${groups.map((g) =>
      g === group ? html`<b>${g}</b> ` : html`<a href="/history?group=${encodeURIComponent(g)}">${g}</a> `,
    )}
  </nav>`;
  if (!group)
    return layout(
      "history",
      "Stack history",
      html`${picker}
        <p class="empty">No node groups yet.</p>`,
    );
  const body = rows.map((h) => {
    const s = summarizeUpdate(h.message);
    const diff = [
      ...s.added.map((k) => `+ vpsie:Node ${k} (create)`),
      ...s.removed.map((k) => `- vpsie:Node ${k} (delete)`),
      ...(s.more ? [`… ${s.more} more`] : []),
    ].join("\n");
    return html`<tr class="update">
      <td>${h.startTime.replace("T", " ").slice(0, 19)}</td>
      <td>${h.kind}</td>
      <td><span class="tag ${h.result === "succeeded" ? "applied" : "failed"}">${h.result}</span></td>
      <td class="num ${s.cost?.delta.startsWith("-") ? "down" : "up"}">
        ${s.cost ? html`${s.cost.delta}/h<br /><small>group ${s.cost.group}/h</small>` : "-"}
      </td>
      <td class="message">
        ${h.message}${s.approvedBy ? html`<br /><span class="tag approved">approved by ${s.approvedBy}</span>` : ""}
        <details>
          <summary>diff: ${changes(h.resourceChanges)}</summary>
          <pre>${diff || "no node keys in the message"}</pre>
        </details>
      </td>
    </tr>`;
  });
  const base = `/history?group=${encodeURIComponent(group)}`;
  return layout(
    "history",
    `Stack history of ${group}`,
    html`${picker}
    ${dataTable(["Started (UTC)", "Kind", "Result", "Cost change", "Message (the reason)"], body, "No updates on this page.")}
    ${pager(base, page, rows.length === pageSize)}`,
  );
}

function costCell(record: ReviewRecord): Html {
  return html`<td class="num ${record.cost && record.cost.deltaPerHour < 0 ? "down" : "up"}">
    ${record.cost ? describeCostChange(record.cost) : "unknown"}
  </td>`;
}

function actionCell(record: ReviewRecord): Html {
  const what =
    record.kind === "scale-up"
      ? `add ${record.add} node(s)`
      : record.remove.length
        ? `remove ${record.remove.map((r) => r.node).join(", ")}`
        : record.kind;
  return html`<td>
    <b>${record.kind}</b> ${record.group}: ${what}
    <details>
      <summary>diff and update message</summary>
      <pre>${record.diff || "(nothing to apply)"}</pre>
      <pre>${record.message}</pre>
    </details>
  </td>`;
}

export function shadowPage(records: ReviewRecord[], page: number, pageSize: number): Html {
  const shown = records.slice((page - 1) * pageSize, page * pageSize);
  const rows = shown.map(
    (r) =>
      html`<tr class="decision">
        <td>${r.createdAt.replace("T", " ").slice(0, 19)}</td>
        <td>${r.lastSeenAt.replace("T", " ").slice(0, 19)} (${r.seen}×)</td>
        ${actionCell(r)}${costCell(r)}
        <td>${r.reason}</td>
      </tr>`,
  );
  return layout(
    "shadow",
    "What shadow mode would have done",
    html`${dataTable(
      ["First decided (UTC)", "Last decided", "Action", "Cost", "Reason"],
      rows,
      "No decisions recorded: run with --mode shadow.",
    )}
    ${pager("/shadow?", page, records.length > page * pageSize)}`,
  );
}

export function approvalsPage(records: ReviewRecord[], csrf: string, user: string, notice?: string): Html {
  const open = records.filter((r) => r.status === "pending" || r.status === "approved");
  const decided = records.filter(
    (r) => r.status !== "pending" && r.status !== "approved" && r.status !== "shadow",
  );
  const form = (r: ReviewRecord, decision: "approve" | "reject", label: string) =>
    html`<form method="post" action="/approvals/${r.id}/${decision}">
      <input type="hidden" name="csrf" value="${csrf}" />
      <input
        type="text"
        name="by"
        value="${user}"
        placeholder="Your name"
        aria-label="Your name"
        required
      /><button type="submit" name="decision" value="${decision}">${label}</button>
    </form>`;
  const row = (r: ReviewRecord, actions: boolean) =>
    html`<tr class="review" data-id="${r.id}">
      <td><code>${r.id}</code><br /><span class="tag ${r.status}">${r.status}</span></td>
      ${actionCell(r)}${costCell(r)}
      <td>${r.reason}<br /><small>${r.rule ?? ""}</small></td>
      <td>
        ${r.decidedBy ? html`by ${r.decidedBy}<br />` : ""}${r.outcome ?? (r.expiresAt ? `expires ${r.expiresAt.replace("T", " ").slice(0, 19)} UTC` : "")}
      </td>
      <td>
        ${actions && r.status === "pending" ? html`${form(r, "approve", "Approve")}${form(r, "reject", "Reject")}` : ""}
      </td>
    </tr>`;
  const table = (rows: Html[], empty: string) =>
    dataTable(["Review", "Action", "Cost", "Reason and rule", "Decision", ""], rows, empty);
  return layout(
    "approvals",
    "Approvals",
    html`<p>
        Each decision records the name given beside its button. The leader applies an approved action at its
        next loop, held to the plan previewed here.
      </p>
      ${table(
        open.map((r) => row(r, true)),
        "Nothing waits for approval.",
      )}
      <h1>Decided</h1>
      ${table(
        decided.slice(0, 50).map((r) => row(r, false)),
        "Nothing decided yet.",
      )}`,
    notice,
  );
}

export function loginPage(failed: boolean): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Sign in · vpsie-autoscaler</title>
      </head>
      <body style="font:14px system-ui;margin:40px">
        <h1>vpsie-autoscaler console</h1>
        ${failed ? html`<p role="alert">That token is not the console's.</p>` : ""}
        <form method="post" action="/login">
          <label>Console token <input type="password" name="token" autofocus /></label>
          <label>Your name <input type="text" name="user" /></label> <button type="submit">Sign in</button>
        </form>
      </body>
    </html>`;
}
