// Lookout's web app: Preact components over the public HTTP API and WHEP (docs/decisions.md D33).
import { render } from 'preact';
import { App } from './components/App.js';
import './style.css';

render(<App />, document.getElementById('app')!);
