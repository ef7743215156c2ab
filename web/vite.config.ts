import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// `npm run dev` serves the app on :5173 and forwards the API to a running `tympan serve`
// (TYMPAN_API, default http://127.0.0.1:8080), so cookies stay same-origin as in production.
const api = process.env.TYMPAN_API ?? 'http://127.0.0.1:8080'
const proxied = ['/api', '/v1', '/docs', '/openapi.json', '/healthz', '/readyz']

export default defineConfig({
  plugins: [react()],
  // Every tag Vite writes carries this placeholder and a <meta property="csp-nonce"> holds it:
  // the server swaps in a fresh nonce per response (src/modules/web/web.routes.ts).
  html: { cspNonce: '__TYMPAN_CSP_NONCE__' },
  build: { outDir: 'dist', assetsDir: 'assets', target: 'es2022', sourcemap: false },
  server: { proxy: Object.fromEntries(proxied.map((path) => [path, { target: api }])) }
})
