// Evaluates a batch of IAM requests with @cloud-copilot/iam-simulate (Strict mode: the request
// context is exactly what the caller gives). stdin: a JSON array of simulations in the library's
// shape; stdout: one JSON object per simulation, in order, with the decision, the statements that
// decided it and any validation error (an unknown action, an ARN the action does not take).
import { getDenialReasons, getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'
import { readFileSync } from 'node:fs'

const simulations = JSON.parse(readFileSync(0, 'utf8'))
const answers = []
for (const simulation of simulations) {
  const run = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (run.resultType === 'error') {
    answers.push({ decision: 'Error', errors: run.errors })
    continue
  }
  const results = run.resultType === 'single' ? [run.result] : run.results
  answers.push({
    decision: run.overallResult,
    denials: results.flatMap((r) => getDenialReasons(r.analysis)),
    grants: results.flatMap((r) => getGrantReasons(r.analysis)),
    ignoredContextKeys: results.flatMap((r) => r.ignoredContextKeys ?? []),
  })
}
process.stdout.write(JSON.stringify(answers))
