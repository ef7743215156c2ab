import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRealFft, hannWindow } from './fft.ts'

function naiveDft (x: number[]): { re: number[], im: number[] } {
  const n = x.length
  const re: number[] = []
  const im: number[] = []
  for (let k = 0; k <= n / 2; k++) {
    let r = 0
    let i = 0
    for (let t = 0; t < n; t++) {
      r += x[t]! * Math.cos((2 * Math.PI * k * t) / n)
      i -= x[t]! * Math.sin((2 * Math.PI * k * t) / n)
    }
    re.push(r)
    im.push(i)
  }
  return { re, im }
}

describe('createRealFft', () => {
  it('agrees with a naive DFT', () => {
    for (const size of [4, 8, 64, 256]) {
      let seed = size
      const x = Array.from({ length: size }, () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 30 - 1 })
      const fft = createRealFft(size)
      const re = new Float64Array(fft.bins)
      const im = new Float64Array(fft.bins)
      fft.forward(x, re, im)
      const want = naiveDft(x)
      for (let k = 0; k < fft.bins; k++) {
        assert.ok(Math.abs(re[k]! - want.re[k]!) < 1e-9, `size ${size} re[${k}]`)
        assert.ok(Math.abs(im[k]! - want.im[k]!) < 1e-9, `size ${size} im[${k}]`)
      }
    }
  })

  it('puts a sine in its bin', () => {
    const size = 1024
    const x = Array.from({ length: size }, (_, t) => Math.sin((2 * Math.PI * 50 * t) / size))
    const fft = createRealFft(size)
    const re = new Float64Array(fft.bins)
    const im = new Float64Array(fft.bins)
    fft.forward(x, re, im)
    const mags = Array.from(re, (r, k) => Math.hypot(r, im[k]!))
    assert.equal(mags.indexOf(Math.max(...mags)), 50)
    assert.ok(Math.abs(mags[50]! - size / 2) < 1e-6)
  })

  it('inverts its forward transform, one signal or two at once', () => {
    const size = 512
    const fft = createRealFft(size)
    let seed = 7
    const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 30 - 1 }
    const a = Float64Array.from({ length: size }, random)
    const b = Float64Array.from({ length: size }, random)
    const [reA, imA, reB, imB] = [0, 0, 0, 0].map(() => new Float64Array(fft.bins)) as [Float64Array, Float64Array, Float64Array, Float64Array]
    fft.forward(a, reA, imA)
    fft.forward(b, reB, imB)
    const back = new Float64Array(size)
    fft.inverse(reA, imA, back)
    const [outA, outB] = [new Float64Array(size), new Float64Array(size)]
    fft.inversePair(reA, imA, reB, imB, outA, outB)
    for (let n = 0; n < size; n++) {
      assert.ok(Math.abs(back[n]! - a[n]!) < 1e-12, `inverse[${n}]`)
      assert.ok(Math.abs(outA[n]! - a[n]!) < 1e-12, `pair a[${n}]`)
      assert.ok(Math.abs(outB[n]! - b[n]!) < 1e-12, `pair b[${n}]`)
    }
  })

  it('refuses sizes that are not powers of two', () => {
    assert.throws(() => createRealFft(1000), RangeError)
    assert.throws(() => createRealFft(2), RangeError)
  })
})

describe('hannWindow', () => {
  it('is periodic: zero at the start, one in the middle, overlap-adds to a constant at half hop', () => {
    const w = hannWindow(8)
    assert.equal(w[0], 0)
    assert.ok(Math.abs(w[4]! - 1) < 1e-12)
    for (let n = 0; n < 4; n++) assert.ok(Math.abs(w[n]! + w[n + 4]! - 1) < 1e-12)
  })
})
