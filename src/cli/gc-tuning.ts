import v8 from 'node:v8'

/**
 * Makes V8 free the Buffers of a large stream (an upload, an object copy) with scavenges
 * instead of full collections. Every socket read is a new Buffer whose bytes live outside
 * the JavaScript heap; by default V8 starts a mark-compact of the whole heap each time such
 * external memory has grown by 64 MiB, which on the server's ~75 MB heap costs 40–130 ms:
 * about 16 of them and 1.5 s of CPU per GiB uploaded (bench/upload; a bare server, with
 * a tiny heap, hardly notices). Counted in the heap's global limit instead, the short-lived
 * Buffers go with the young generation, at about 1 ms a scavenge (nodejs/node#1671 is the
 * long story). V8 reads the flag at each limit check, so it holds from here on; it is set
 * here rather than on node's command line, which NODE_OPTIONS does not allow for V8 flags.
 */
export function collectBuffersYoung (): void {
  v8.setFlagsFromString('--external-memory-accounted-in-global-limit')
}
