// The package version, injected at build time (scripts/build.mjs defines __PACKAGE_VERSION__).
declare const __PACKAGE_VERSION__: string;

export function packageVersion(): string {
  return typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : '0.0.0-dev';
}
