// A TCP proxy in front of PostgreSQL that can cut the network without closing anything: while partitioned, bytes
// in either direction are held back (the sockets are paused, as packets that are lost and retransmitted later) and
// new connections are accepted but not forwarded. When the partition heals, everything held back flows on, just as
// TCP delivers it after a short outage. The server under test sees a database that is neither up nor refusing.
import net from 'node:net'

interface Pair {
  client: net.Socket
  upstream?: net.Socket
}

export interface PartitionProxy {
  port: number
  /** Holds back all traffic and new connections. */
  partition(): void
  /** Lets everything flow again. */
  heal(): void
  close(): Promise<void>
}

export async function startPartitionProxy(target: { host: string; port: number }): Promise<PartitionProxy> {
  const pairs = new Set<Pair>()
  let partitioned = false

  const connectUpstream = (pair: Pair) => {
    const upstream = net.connect(target)
    pair.upstream = upstream
    const end = () => {
      pair.client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    upstream.on('error', end)
    upstream.on('close', end)
    pair.client.pipe(upstream)
    upstream.pipe(pair.client)
    pair.client.resume()
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client }
    pairs.add(pair)
    client.on('error', () => pair.upstream?.destroy())
    client.on('close', () => {
      pair.upstream?.destroy()
      pairs.delete(pair)
    })
    if (!partitioned) connectUpstream(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo

  return {
    port,
    partition() {
      partitioned = true
      for (const { client, upstream } of pairs) {
        // Unpipe so that nothing is read into Node's buffers either; the kernel's buffers fill and stop.
        client.unpipe()
        upstream?.unpipe()
        client.pause()
        upstream?.pause()
      }
    },
    heal() {
      partitioned = false
      for (const pair of pairs) {
        if (!pair.upstream) {
          connectUpstream(pair)
          continue
        }
        pair.client.pipe(pair.upstream)
        pair.upstream.pipe(pair.client)
        pair.client.resume()
        pair.upstream.resume()
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy()
        upstream?.destroy()
      }
      pairs.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
