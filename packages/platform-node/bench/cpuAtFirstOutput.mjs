// Preloaded (`node --import`) into every app of figure 8: reports on stderr the process's CPU time (user + system,
// all threads) when the app first writes to stdout, i.e. when its token is printed. CPU time is far less disturbed
// than wall time by other processes on a loaded machine.
import process from "node:process"

const write = process.stdout.write
process.stdout.write = function(...args) {
  process.stdout.write = write
  const { system, user } = process.cpuUsage()
  process.stderr.write(`cpu-ms ${((user + system) / 1000).toFixed(2)}\n`)
  return write.apply(this, args)
}
