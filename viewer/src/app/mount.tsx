// The app proper, loaded by the entry module (main.ts) while the bundle's first files are requested.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import '../styles.css';
import { startEarlyLoad } from './early-load.ts';
import { App } from './App.tsx';

// Before the first render, in case this chunk was evaluated before main.ts got to it (it does nothing twice).
startEarlyLoad();
performance.mark('flowtape:app');

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
