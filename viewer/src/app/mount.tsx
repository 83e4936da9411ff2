// The app proper, loaded by the entry module (main.ts) once the bundle's load is under way.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import '../styles.css';
import { App } from './App.tsx';

performance.mark('flowtape:app');

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
