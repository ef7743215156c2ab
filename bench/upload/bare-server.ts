// The baseline for bench/upload: a bare node:http server that streams each request body to
// a new file in <dir> and answers 201 with {path, bytes} once the file is written (no
// parsing, hashing, validation or fsync). Usage: node bench/upload/bare-server.ts <dir> <port>
// Prints "listening" on stdout when ready.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'

const [dir, port] = process.argv.slice(2)
if (!dir || !port) throw new Error('usage: bare-server.ts <dir> <port>')

const server = http.createServer((req, res) => {
  const file = path.join(dir, `${randomUUID()}.bin`)
  const out = fs.createWriteStream(file)
  pipeline(req, out).then(() => {
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ path: file, bytes: out.bytesWritten }))
  }, (error: Error) => {
    fs.rmSync(file, { force: true })
    res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message)
  })
})
server.requestTimeout = 0
server.listen(Number(port), '127.0.0.1', () => console.log('listening'))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
