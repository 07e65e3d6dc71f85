// Entry point of the bundle (webconsole/build.mjs): mounts the console into #app.
import { render } from 'preact';
import { App } from './app';

const root = document.getElementById('app');
if (root) render(<App />, root);
