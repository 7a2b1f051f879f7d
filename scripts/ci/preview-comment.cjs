// preview.yaml: the pull request's one comment for a stack's preview, found again by its hidden marker and updated
// on every push (created the first time). Run by actions/github-script with its `github` and `context`.
"use strict";

/** The marker that identifies a stack's comment (project mesh-six, command preview). */
function marker(stack) {
  return `<!-- mesh-six-preview:mesh-six:${stack}:preview -->`;
}

function body({ stack, ok, output, runUrl }) {
  const summary = output.split("\n").filter((l) => /^\s+[-+~]\s+\d+ to |^\s+\d+ unchanged|\[(mandatory|advisory)\]/.test(l));
  const head = [
    marker(stack),
    `### ${ok ? "✅" : "❌"} \`pulumi preview\` of \`${stack}\` with the mesh-six policy pack`,
    "",
    "```",
    ...(summary.length > 0 ? summary : ["(no changes and no policy violations)"]),
    "```",
    "",
  ].join("\n");
  // GitHub caps a comment at 65,536 characters: keep the summary, cut the full output, link the run.
  const room = 60000 - head.length;
  const details = output.length > room ? `${output.slice(0, room)}\n… (cut; full output in the run)` : output;
  return `${head}<details><summary>Full output</summary>\n\n\`\`\`\n${details}\n\`\`\`\n</details>\n\n[Run](${runUrl})`;
}

/** Creates or updates the stack's comment; returns "created" or "updated". */
async function upsertPreviewComment({ github, context, stack, exitCode, output }) {
  const runUrl = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
  const text = body({ stack, ok: exitCode === "0", output, runUrl });
  const issue_number = context.payload.pull_request.number;
  const comments = await github.paginate(github.rest.issues.listComments, { ...context.repo, issue_number, per_page: 100 });
  const mine = comments.find((c) => c.body && c.body.startsWith(marker(stack)));
  if (mine) {
    await github.rest.issues.updateComment({ ...context.repo, comment_id: mine.id, body: text });
    return "updated";
  }
  await github.rest.issues.createComment({ ...context.repo, issue_number, body: text });
  return "created";
}

module.exports = { marker, upsertPreviewComment };
