/** Vite's `?raw` imports: a file's text (tests only). */
declare module "*?raw" {
  const text: string;
  export default text;
}
