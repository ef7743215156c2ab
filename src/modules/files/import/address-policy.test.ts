import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addressProblem, literalAddress, parseImportUrl } from './address-policy.ts'
import { ImportError } from './import-error.ts'

const refusedWith = (code: string) => (error: unknown) => error instanceof ImportError && error.code === code

describe('addressProblem', () => {
  it('accepts public unicast addresses', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e']) {
      assert.equal(addressProblem(ip), undefined, ip)
    }
  })

  const refused: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['169.254.169.254', /link-local/],
    ['169.254.0.1', /link-local/],
    ['100.64.0.1', /CGNAT/],
    ['100.127.255.255', /CGNAT/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['240.0.0.1', /reserved/],
    ['192.0.0.8', /IETF/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['192.88.99.1', /6to4 relay/],
    ['192.175.48.1', /special-purpose/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fc00::1', /unique local/],
    ['fd12:3456:789a::1', /unique local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['2001:2::1', /benchmarking/],
    ['100::1', /discard/],
    ['64:ff9b:1::1', /local NAT64/],
    ['::127.0.0.1', /reserved/],
    ['4000::1', /reserved/],
    ['2001:10::1', /special-purpose/]
  ]
  for (const [ip, reason] of refused) {
    it(`refuses ${ip}`, () => {
      assert.match(addressProblem(ip) ?? 'accepted', reason)
    })
  }

  it('judges IPv6 forms that embed an IPv4 address by that address', () => {
    assert.match(addressProblem('::ffff:127.0.0.1') ?? '', /loopback.*IPv4-mapped/)
    assert.match(addressProblem('::ffff:169.254.169.254') ?? '', /link-local.*IPv4-mapped/)
    assert.match(addressProblem('::ffff:a00:1') ?? '', /private.*IPv4-mapped/)
    assert.match(addressProblem('64:ff9b::10.0.0.1') ?? '', /private.*NAT64/)
    assert.match(addressProblem('64:ff9b::7f00:1') ?? '', /loopback.*NAT64/)
    assert.match(addressProblem('2002:7f00:1::1') ?? '', /loopback.*6to4/)
    assert.match(addressProblem('2002:c0a8:101::1') ?? '', /private.*6to4/)
    // Teredo client 192.168.1.1 is stored inverted: 3f57:fefe.
    assert.match(addressProblem('2001:0:4136:e378:8000:63bf:3f57:fefe') ?? '', /private.*Teredo/)
    // Teredo server 10.0.0.1 in bits 32-63.
    assert.match(addressProblem('2001:0:a00:1:8000:63bf:f7f7:f7f7') ?? '', /private.*Teredo/)
  })

  it('accepts embedding forms whose IPv4 address is public', () => {
    assert.equal(addressProblem('::ffff:8.8.8.8'), undefined)
    assert.equal(addressProblem('64:ff9b::8.8.8.8'), undefined)
    assert.equal(addressProblem('2002:808:808::1'), undefined)
    // Teredo server 65.54.227.120, client ~f7f7:f7f7 = 8.8.8.8.
    assert.equal(addressProblem('2001:0:4136:e378:8000:63bf:f7f7:f7f7'), undefined)
    // The RFC 4380 example's client, ~3fff:fdd2 = 192.0.2.45, is a documentation address.
    assert.match(addressProblem('2001:0:4136:e378:8000:63bf:3fff:fdd2') ?? '', /documentation.*Teredo/)
  })

  it('refuses anything that is not a canonical IP address', () => {
    for (const value of ['', 'localhost', '127.1', '0x7f000001', '2130706433', '1.2.3.4.5', '[::1]']) {
      assert.equal(addressProblem(value), 'not an IP address', value)
    }
  })
})

describe('parseImportUrl', () => {
  const https = { allowHttp: false }
  const http = { allowHttp: true }

  it('accepts https and drops the fragment', () => {
    const url = parseImportUrl('https://example.com/a%20b.mp3?x=1#frag', https)
    assert.equal(url.href, 'https://example.com/a%20b.mp3?x=1')
  })

  it('refuses http unless allowed', () => {
    assert.throws(() => parseImportUrl('http://example.com/a.mp3', https), refusedWith('scheme'))
    assert.equal(parseImportUrl('http://example.com/a.mp3', http).protocol, 'http:')
  })

  it('refuses every other scheme', () => {
    for (const raw of ['ftp://example.com/a.mp3', 'javascript:alert(1)', 'file:///etc/passwd', 'data:audio/wav;base64,AAAA', 'gopher://example.com/']) {
      assert.throws(() => parseImportUrl(raw, http), refusedWith('scheme'), raw)
    }
  })

  it('refuses credentials in the URL', () => {
    assert.throws(() => parseImportUrl('https://user:pass@example.com/', https), refusedWith('invalid_url'))
    assert.throws(() => parseImportUrl('https://user@example.com/', https), refusedWith('invalid_url'))
  })

  it('allows only 443, and 80 when http is allowed, unless a port list says otherwise', () => {
    assert.equal(parseImportUrl('https://example.org:443/a', { allowHttp: false }).href, 'https://example.org/a')
    assert.equal(parseImportUrl('http://example.org/a', { allowHttp: true }).href, 'http://example.org/a')
    for (const [url, policy, allowed] of [
      ['https://example.org:8443/a', { allowHttp: false }, '443'],
      ['https://example.org:80/a', { allowHttp: false }, '443'],
      ['http://example.org:6379/a', { allowHttp: true }, '443, 80'],
      ['https://example.org:22/a', { allowHttp: true, allowedPorts: [] }, '443, 80'],
      ['https://example.org/a', { allowHttp: false, allowedPorts: [8443] }, '8443']
    ] as const) {
      assert.throws(() => parseImportUrl(url, policy), (error: unknown) => {
        assert.ok(error instanceof ImportError)
        assert.equal(error.code, 'port')
        assert.match(error.message, new RegExp(`^Port \\d+ is not allowed for imports \\(allowed: ${allowed}; see IMPORT_ALLOWED_PORTS\\)$`))
        return true
      }, url)
    }
    assert.equal(parseImportUrl('https://example.org:8443/a', { allowHttp: false, allowedPorts: [443, 8443] }).port, '8443')
  })

  it('refuses what is not a URL, or is too long', () => {
    for (const raw of ['', 'example.com/a.mp3', 'https://', 'https://exa mple.com/', 'http://[fe80::1%25eth0]/']) {
      assert.throws(() => parseImportUrl(raw, http), refusedWith('invalid_url'), raw)
    }
    assert.throws(() => parseImportUrl(`https://example.com/${'a'.repeat(2100)}`, https), refusedWith('invalid_url'))
  })

  it('normalises numeric host forms to the address they really name', () => {
    for (const raw of ['http://0x7f000001/', 'http://2130706433/', 'http://127.1/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://127.0.0.1./']) {
      const url = parseImportUrl(raw, http)
      assert.equal(literalAddress(url), '127.0.0.1', raw)
      assert.equal(addressProblem(literalAddress(url) ?? ''), 'loopback address', raw)
    }
    assert.equal(literalAddress(parseImportUrl('http://0/', http)), '0.0.0.0')
  })

  it('exposes bracketed IPv6 hosts as plain addresses for the policy', () => {
    const loopback = parseImportUrl('http://[::1]/', http)
    assert.equal(literalAddress(loopback), '::1')
    assert.equal(addressProblem('::1'), 'loopback address')

    const mapped = literalAddress(parseImportUrl('http://[::ffff:127.0.0.1]/', http))
    assert.equal(mapped, '::ffff:7f00:1')
    assert.match(addressProblem(mapped ?? '') ?? '', /loopback/)
  })

  it('leaves the cloud metadata address to be judged by the policy', () => {
    const url = parseImportUrl('http://169.254.169.254/latest/meta-data', http)
    assert.equal(addressProblem(literalAddress(url) ?? ''), 'link-local address')
  })

  it('treats names as names: they are judged after resolution', () => {
    assert.equal(literalAddress(parseImportUrl('https://localhost/', https)), undefined)
    assert.equal(literalAddress(parseImportUrl('https://127.0.0.1.nip.io/', https)), undefined)
  })
})
