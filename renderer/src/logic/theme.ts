/** Light or dark: the user's choice is remembered; until then the system's preference applies. */

export type Theme = 'light' | 'dark';

const storageKey = 'sluice.theme';

/** The theme to start with. */
export function initialTheme(): Theme {
  const stored = localStorage.getItem(storageKey);
  if (stored === 'light' || stored === 'dark') return stored;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

/** Applies and remembers a theme. */
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem(storageKey, theme);
}
