import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

// A small history router: the server answers every page path with the app (see
// src/modules/web/web.policy.ts), and the app picks the page from location.pathname.

const CHANGE = 'tympan:navigate'

export function navigate (to: string, options: { replace?: boolean } = {}) {
  if (to === location.pathname + location.search) return
  if (options.replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  window.dispatchEvent(new Event(CHANGE))
  window.scrollTo(0, 0)
}

export interface Location { path: string, search: URLSearchParams }

const current = (): Location => ({ path: location.pathname, search: new URLSearchParams(location.search) })

export function useLocation (): Location {
  const [where, setWhere] = useState(current)
  useEffect(() => {
    const update = () => setWhere(current())
    window.addEventListener('popstate', update)
    window.addEventListener(CHANGE, update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener(CHANGE, update)
    }
  }, [])
  return where
}

/** `/jobs/:id` against `/jobs/123` → { id: '123' }; undefined when it does not match. */
export function match (pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/')
  const got = path.replace(/\/+$/, '').split('/')
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g)
    else if (w !== g) return undefined
  }
  return params
}

export function Link ({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event)
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={follow} {...rest} />
}
