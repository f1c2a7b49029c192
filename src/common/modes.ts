/** Mode bits as `ls -l` prints them: drwxr-xr-x. */
export function modeString(mode: number, folder: boolean): string {
  let s = folder ? 'd' : '-';
  for (const shift of [6, 3, 0]) {
    const bits = (mode >> shift) & 7;
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return s;
}
